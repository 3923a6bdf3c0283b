/**
 * HTTP/2 keepalive from clientChannelOptions against servers from startGrpcServer, over a loopback
 * proxy that can blackhole its connections (a peer gone without FIN/RST). Keepalive is set short
 * (a ping every 200 ms, a second for its answer) so the tests run in seconds; there are no timing
 * assertions, only generous timeouts.
 */
import * as grpc from "@grpc/grpc-js";
import { clientChannelOptions, type GrpcServerHandle, KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS, startGrpcServer } from "./grpc";
import { grpcClientConfigSchema } from "./schemas";
import { type BlackholeProxy, countFrames, H2_GOAWAY, H2_PING, startBlackholeProxy } from "./testproxy";
import { memoryLogger } from "./testlog";

interface Item {
  n: number;
}
interface Count {
  count: number;
}
const json = <T>() => ({
  serialize: (v: T): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): T => JSON.parse(b.toString("utf8")) as T,
});
// client streaming like StreamSpfVerdicts: items in, one Count when the client half-closes
const CollectService = {
  collect: {
    path: "/test.Collect/Collect",
    requestStream: true,
    responseStream: false,
    requestSerialize: json<Item>().serialize,
    requestDeserialize: json<Item>().deserialize,
    responseSerialize: json<Count>().serialize,
    responseDeserialize: json<Count>().deserialize,
  },
} satisfies grpc.ServiceDefinition;
interface CollectClient extends grpc.Client {
  collect(callback: (err: grpc.ServiceError | null, res: Count) => void): grpc.ClientWritableStream<Item>;
}
const CollectClient = grpc.makeGenericClientConstructor(CollectService, "test.Collect") as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ClientOptions>,
) => CollectClient;

// the answer may wait for a busy event loop (client, proxy and server share one): a second, not 200 ms
const FAST = { keepalive_time_ms: 200, keepalive_timeout_ms: 1_000 };
// each client its own connection: grpc-js shares subchannels between channels with equal options
const LOCAL_POOL = { "grpc.use_local_subchannel_pool": 1 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("clientChannelOptions keepalive", () => {
  test("on by default (20 s, 10 s for the answer, idle connections too)", () => {
    expect(clientChannelOptions()).toMatchObject({
      "grpc.keepalive_time_ms": KEEPALIVE_TIME_MS,
      "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
      "grpc.keepalive_permit_without_calls": 1,
    });
    expect([KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS]).toEqual([20_000, 10_000]);
    // the schema's defaults are the same
    expect(clientChannelOptions(undefined, grpcClientConfigSchema.parse({}))).toEqual(clientChannelOptions());
  });

  test("as configured; keepalive_time_ms 0 turns it off", () => {
    expect(clientChannelOptions(undefined, { keepalive_time_ms: 30_000, keepalive_timeout_ms: 5_000, keepalive_without_calls: false })).toMatchObject({
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.keepalive_permit_without_calls": 0,
    });
    const off = clientChannelOptions(undefined, { keepalive_time_ms: 0 });
    expect(Object.keys(off).filter((k) => k.includes("keepalive"))).toEqual([]);
  });

  test.each([
    [{ keepalive_time_ms: 20 }, "keepalive_time_ms"],
    [{ keepalive_time_ms: -1 }, "keepalive_time_ms"],
    [{ keepalive_timeout_ms: 10 }, "keepalive_timeout_ms"],
  ])("the schema refuses %j (milliseconds, not seconds)", (input, path) => {
    const parsed = grpcClientConfigSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join("."))).toContain(path);
  });
});

describe.each([
  ["grpc-js bind", false],
  ["exclusive bind", true],
])("keepalive through a loopback proxy (%s)", (_mode, exclusive) => {
  let server: GrpcServerHandle;
  let proxy: BlackholeProxy;
  const received: number[] = [];
  const clients: grpc.Client[] = [];
  const client = (address: string, options: Partial<grpc.ClientOptions>): CollectClient => {
    const c = new CollectClient(address, grpc.credentials.createInsecure(), { ...options, ...LOCAL_POOL });
    clients.push(c);
    return c;
  };

  /** server calls cancelled (by the client, or their connection gone) */
  const gone = { calls: 0 };
  const extra: Array<{ proxy: BlackholeProxy; server: GrpcServerHandle }> = [];
  const startServer = (options?: grpc.ServerOptions): Promise<GrpcServerHandle> => {
    const impl: grpc.UntypedServiceImplementation = {
      collect: (call: grpc.ServerReadableStream<Item, Count>, cb: grpc.sendUnaryData<Count>) => {
        let count = 0;
        let dropped = false;
        call.on("data", (item: Item) => {
          count++;
          received.push(item.n);
        });
        // a dropped connection ends the call ('end') and then cancels it
        call.on("end", () => cb(null, { count }));
        const drop = (): void => {
          if (!dropped) gone.calls++;
          dropped = true;
        };
        call.on("error", drop);
        call.on("cancelled", drop);
      },
    };
    return startGrpcServer({ listen: "127.0.0.1:0", logger: memoryLogger().logger, services: [[CollectService, impl]], exclusive, forceShutdownMs: 1_000, options });
  };

  beforeEach(async () => {
    received.length = 0;
    gone.calls = 0;
    server = await startServer();
    proxy = await startBlackholeProxy(server.address);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const e of [{ proxy, server }, ...extra.splice(0)]) {
      await e.proxy.close();
      await e.server.close();
    }
  });

  /** Opens a stream; `status` settles with the call's end (null: OK). */
  const open = (c: CollectClient) => {
    let ended: grpc.ServiceError | null | undefined;
    let reply: Count | undefined;
    let stream!: grpc.ClientWritableStream<Item>;
    const status = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = c.collect((err, res) => {
        ended = err;
        reply = res;
        resolve(err);
      });
      stream = call;
    });
    return {
      stream,
      status,
      get ended() {
        return ended;
      },
      get reply() {
        return reply;
      },
    };
  };

  test("a stream through a blackholed connection ends UNAVAILABLE with keepalive (and hangs without); a new call after healing works", async () => {
    const withKeepalive = open(client(proxy.address, clientChannelOptions(undefined, FAST)));
    const without = open(client(proxy.address, clientChannelOptions(undefined, { keepalive_time_ms: 0 })));
    withKeepalive.stream.write({ n: 1 });
    without.stream.write({ n: 2 });
    await until("both streams to carry an item", () => received.length === 2);
    expect(proxy.connections).toBe(2);

    proxy.blackhole();
    // written after the peer vanished: buffered, "written", never delivered
    withKeepalive.stream.write({ n: 3 });
    without.stream.write({ n: 4 });
    const err = await withKeepalive.status;
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    // the same blackhole, no keepalive: nothing has noticed (it would wait for TCP, ~15 min)
    expect(without.ended).toBeUndefined();
    expect(received).toEqual([1, 2]);

    proxy.heal();
    // the channel dials again on the next call
    const again = open(clients[0] as CollectClient);
    again.stream.write({ n: 5 });
    again.stream.end();
    expect(await again.status).toBeNull();
    expect(again.reply).toEqual({ count: 1 });
    expect(proxy.connections).toBe(3);
    // and directly, with the same options
    const direct = open(client(server.address, clientChannelOptions(undefined, FAST)));
    direct.stream.write({ n: 6 });
    direct.stream.end();
    expect(await direct.status).toBeNull();
    expect(received).toEqual([1, 2, 5, 6]);
    without.stream.cancel();
  }, 60_000);

  test("the server answers a client pinging every 200 ms, during a call and idle, and never sends GOAWAY", async () => {
    const c = client(proxy.address, clientChannelOptions(undefined, { keepalive_time_ms: 200, keepalive_timeout_ms: 5_000 }));
    const call = open(c);
    call.stream.write({ n: 1 });
    const pingsFrom = (): number => countFrames(proxy.frames, "up", H2_PING, false);
    // several intervals with a call open...
    await until("8 pings during the call", () => pingsFrom() >= 8);
    call.stream.write({ n: 2 });
    call.stream.end();
    expect(await call.status).toBeNull();
    expect(call.reply).toEqual({ count: 2 });
    // ...and with none (keepalive_without_calls)
    const idleFrom = pingsFrom();
    await until("8 pings while idle", () => pingsFrom() >= idleFrom + 8);
    const last = open(c);
    last.stream.end();
    expect(await last.status).toBeNull();

    expect(countFrames(proxy.frames, "down", H2_GOAWAY)).toBe(0);
    expect(countFrames(proxy.frames, "down", H2_PING, true)).toBeGreaterThanOrEqual(16);
    expect(proxy.connections).toBe(1);
  }, 60_000);

  test("the server drops the stream of a client gone without FIN/RST (server keepalive, here 200 ms)", async () => {
    const fastServer = await startServer({ "grpc.keepalive_time_ms": 200, "grpc.keepalive_timeout_ms": 1_000 });
    const hole = await startBlackholeProxy(fastServer.address);
    extra.push({ proxy: hole, server: fastServer });
    // the client does not ping: only the server can find out
    const call = open(client(hole.address, clientChannelOptions(undefined, { keepalive_time_ms: 0 })));
    call.stream.write({ n: 1 });
    await until("the item", () => received.length === 1);
    hole.blackhole();
    await until("the server to drop the call", () => gone.calls === 1);
    expect(call.ended).toBeUndefined(); // the client, not pinging, has not noticed
    call.stream.cancel();
  }, 60_000);
});
