/**
 * CoalescingReporter in stream mode against a real grpc-js server in-process (ADR 0006, "Streams"):
 * one long-lived client-streaming call per address, a message per flush, reopened after the
 * server goes away, batch (then unary) calls for a server without the stream method, and the
 * server's token interceptor refusing a stream without the token.
 */
import { type AddressInfo, createServer, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { CoalescingReporter, type CoalescingReporterOptions, verdictReplier, VerdictStreams } from "./coalescing-reporter";
import { authClientInterceptor, clientChannelOptions, type GrpcServerHandle, startGrpcServer, unaryCall } from "./grpc";
import { memoryLogger } from "./testlog";
import { startBlackholeProxy } from "./testproxy";

interface Nums {
  verdicts: number[];
}
interface Num {
  n: number;
}
interface Ack {
  ok?: boolean;
}
const json = <T>() => ({
  serialize: (v: T): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): T => JSON.parse(b.toString("utf8")) as T,
});
const method = <Req, Res>(name: string, requestStream: boolean) => ({
  path: `/test.Verdicts/${name}`,
  requestStream,
  responseStream: false,
  requestSerialize: json<Req>().serialize,
  requestDeserialize: json<Req>().deserialize,
  responseSerialize: json<Res>().serialize,
  responseDeserialize: json<Res>().deserialize,
});
const VerdictService = {
  reportOne: method<Num, Ack>("ReportOne", false),
  reportBatch: method<Nums, Ack>("ReportBatch", false),
  streamVerdicts: method<Nums, Ack>("StreamVerdicts", true),
} satisfies grpc.ServiceDefinition;

interface VerdictClient extends grpc.Client {
  reportOne(request: Num, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: (err: grpc.ServiceError | null, res: Ack) => void): grpc.ClientUnaryCall;
  reportBatch(request: Nums, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: (err: grpc.ServiceError | null, res: Ack) => void): grpc.ClientUnaryCall;
  streamVerdicts(callback: (err: grpc.ServiceError | null, res: Ack) => void): grpc.ClientWritableStream<Nums>;
}
const VerdictClient = grpc.makeGenericClientConstructor(VerdictService, "test.Verdicts") as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ClientOptions>,
) => VerdictClient;

const TOKEN = "verdict-stream-token-0123456789";

/** A peer that records what arrived and by which method. */
async function startPeer(options: { port?: number; stream?: boolean; batch?: boolean; token?: string; server?: grpc.ServerOptions } = {}) {
  const { logger } = memoryLogger();
  const received: number[] = [];
  const by = { one: 0, batch: 0, streams: 0, messages: 0 };
  const streams = new VerdictStreams();
  const impl: grpc.UntypedServiceImplementation = {
    reportOne: (call: grpc.ServerUnaryCall<Num, Ack>, cb: grpc.sendUnaryData<Ack>) => {
      by.one++;
      received.push(call.request.n);
      cb(null, {});
    },
    reportBatch: (call: grpc.ServerUnaryCall<Nums, Ack>, cb: grpc.sendUnaryData<Ack>) => {
      by.batch++;
      received.push(...call.request.verdicts);
      cb(null, {});
    },
    streamVerdicts: (call: grpc.ServerReadableStream<Nums, Ack>, cb: grpc.sendUnaryData<Ack>) => {
      by.streams++;
      streams.serve(
        call,
        cb,
        (m) => {
          by.messages++;
          received.push(...m.verdicts);
        },
        {},
      );
    },
  };
  if (options.stream === false) delete impl.streamVerdicts;
  if (options.batch === false) delete impl.reportBatch;
  const server: GrpcServerHandle = await startGrpcServer({
    listen: `127.0.0.1:${options.port ?? 0}`,
    logger,
    services: [[VerdictService, impl]],
    ...(options.token === undefined ? {} : { auth: { auth_token: options.token } }),
    forceShutdownMs: 2_000,
    ...(options.server === undefined ? {} : { options: options.server }),
  });
  return {
    server,
    received,
    by,
    streams,
    stop: async () => {
      const closed = server.close();
      streams.end();
      await closed;
    },
  };
}
type Peer = Awaited<ReturnType<typeof startPeer>>;

const clients: VerdictClient[] = [];
const reporters: CoalescingReporter<number>[] = [];
const peers: Peer[] = [];
afterEach(async () => {
  for (const r of reporters.splice(0)) await r.close();
  for (const c of clients.splice(0)) c.close();
  for (const p of peers.splice(0)) await p.stop();
});

function transport(address: string, clientOptions: Partial<grpc.ClientOptions> = {}) {
  const client = new VerdictClient(address, grpc.credentials.createInsecure(), clientOptions);
  clients.push(client);
  const opened = { streams: 0 };
  const options: Pick<CoalescingReporterOptions<number>, "sendBatch" | "sendOne" | "openStream"> = {
    sendBatch: (_a, verdicts, deadlineMs) => unaryCall(client.reportBatch.bind(client), { verdicts }, deadlineMs),
    sendOne: (_a, n, deadlineMs) => unaryCall(client.reportOne.bind(client), { n }, deadlineMs),
    openStream: (_a, done) => {
      opened.streams++;
      return client.streamVerdicts((err) => done(err));
    },
  };
  return { options, opened };
}

function reporterFor(address: string, extra: Partial<CoalescingReporterOptions<number>> = {}, clientOptions?: Partial<grpc.ClientOptions>) {
  const t = transport(address, clientOptions);
  const reporter = new CoalescingReporter<number>({ ...t.options, ...extra });
  reporters.push(reporter);
  return { reporter, opened: t.opened };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const settled = (p: Promise<unknown>): Promise<unknown> => p.then(
  () => "ok",
  (err: unknown) => err,
);

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("CoalescingReporter, stream mode", () => {
  test("many flushes go as messages of one call, in order", async () => {
    const peer = await startPeer();
    peers.push(peer);
    const { reporter, opened } = reporterFor(peer.server.address);
    const done: Promise<void>[] = [];
    for (let t = 0; t < 20; t++) {
      for (const n of range(t * 5, 5)) done.push(reporter.report(peer.server.address, n, 10_000));
      await turn();
    }
    await Promise.all(done);
    await until("all verdicts", () => peer.received.length === 100);
    expect(peer.received).toEqual(range(0, 100));
    expect(opened.streams).toBe(1);
    expect(peer.by).toMatchObject({ streams: 1, batch: 0, one: 0 });
    expect(peer.by.messages).toBeGreaterThan(1);
    expect(reporter.openStreams).toBe(1);
  }, 30_000);

  test("a burst beyond the stream's buffer waits for drain and keeps its order", async () => {
    const peer = await startPeer();
    peers.push(peer);
    const { reporter } = reporterFor(peer.server.address, { maxBatch: 1 });
    const done = range(0, 3_000).map((n) => reporter.report(peer.server.address, n, 30_000));
    await Promise.all(done);
    await until("all verdicts", () => peer.received.length === 3_000);
    expect(peer.received).toEqual(range(0, 3_000));
    expect(peer.by).toMatchObject({ streams: 1, messages: 3_000 });
  }, 60_000);

  test("a stream to a peer that stopped reading is given up once its items run out of budget: they fail, nothing hangs", async () => {
    // accepts the connection and never reads it: the HTTP/2 session never starts, writes pile up
    const sockets: Socket[] = [];
    const mute = createServer((socket) => {
      socket.pause();
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => mute.listen(0, "127.0.0.1", resolve));
    const address = `127.0.0.1:${(mute.address() as AddressInfo).port}`;
    try {
      const { reporter } = reporterFor(address, { maxBatch: 1 });
      const outcomes = await Promise.all(range(0, 200).map((n) => settled(reporter.report(address, n, 1_000))));
      expect(outcomes.filter((o) => o === "ok")).toEqual([]);
      expect(reporter.openStreams).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      mute.close();
    }
  }, 60_000);

  test("after the server restarts the reporter opens a new stream and later verdicts arrive", async () => {
    let peer = await startPeer();
    const port = peer.server.port;
    const address = peer.server.address;
    const lost: string[] = [];
    const { reporter, opened } = reporterFor(address, { onLost: (_a, ids) => lost.push(...ids), idOf: String });
    await Promise.all(range(0, 10).map((n) => reporter.report(address, n, 10_000)));
    await until("first verdicts", () => peer.received.length === 10);
    await peer.stop();
    // while it is down: refused like a failed call, never thrown
    const outcomes = await Promise.all(range(100, 5).map((n) => settled(reporter.report(address, n, 2_000))));
    expect(outcomes.every((o) => o !== "ok")).toBe(true);
    peer = await startPeer({ port });
    peers.push(peer);
    // later verdicts arrive, and once the backoff has passed through a new stream
    let n = 1_000;
    await until("verdicts through a new stream", () => {
      void settled(reporter.report(address, n++, 5_000));
      return peer.by.messages > 0;
    });
    await until("the last verdict", () => peer.received.includes(n - 1));
    expect(opened.streams).toBeGreaterThanOrEqual(2);
    // the server ended the first stream itself, with OK, after reading them: nothing is reported lost
    expect(lost).toEqual([]);
  }, 60_000);

  test("a half-open stream (the edge gone without FIN/RST) ends UNAVAILABLE by keepalive: its verdicts count lost, later ones go through a new stream", async () => {
    const peer = await startPeer();
    peers.push(peer);
    const proxy = await startBlackholeProxy(peer.server.address);
    try {
      const lost: string[] = [];
      const lostErrs: unknown[] = [];
      const { reporter, opened } = reporterFor(
        proxy.address,
        {
          idOf: String,
          onLost: (_a, ids, err) => {
            lost.push(...ids);
            lostErrs.push(err);
          },
        },
        clientChannelOptions(undefined, { keepalive_time_ms: 200, keepalive_timeout_ms: 1_000 }),
      );
      await Promise.all(range(0, 10).map((n) => reporter.report(proxy.address, n, 30_000)));
      await until("first verdicts", () => peer.received.length === 10);

      proxy.blackhole();
      // "written" into the kernel's buffer: resolved, or rejected if the stream dies first; never delivered
      const during = await Promise.all(range(10, 5).map((n) => settled(reporter.report(proxy.address, n, 30_000))));
      await until("the stream to end", () => lostErrs.length > 0);
      expect(lostErrs.map((e) => (e as grpc.ServiceError).code)).toEqual([grpc.status.UNAVAILABLE]);
      // every verdict written to it within its budget is not known delivered (ADR 0006): the first ten too
      const writtenDuring = range(10, 5).filter((_n, i) => during[i] === "ok");
      expect(lost).toEqual([...range(0, 10), ...writtenDuring].map(String));
      for (const o of during) if (o !== "ok") expect((o as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
      expect(reporter.openStreams).toBe(0);
      expect(peer.received).toEqual(range(0, 10));

      proxy.heal();
      let n = 1_000;
      await until("verdicts through a new stream", () => {
        void settled(reporter.report(proxy.address, n++, 5_000));
        return peer.by.streams >= 2 && peer.by.messages > 1;
      });
      await until("the last verdict", () => peer.received.includes(n - 1));
      expect(opened.streams).toBe(2);
      expect(reporter.openStreams).toBe(1);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  test("the edge's side: a stream from a worker gone without FIN/RST is dropped by server keepalive (here 200 ms)", async () => {
    const peer = await startPeer({ server: { "grpc.keepalive_time_ms": 200, "grpc.keepalive_timeout_ms": 1_000 } });
    peers.push(peer);
    const proxy = await startBlackholeProxy(peer.server.address);
    try {
      const { reporter } = reporterFor(proxy.address, {}, clientChannelOptions(undefined, { keepalive_time_ms: 0 }));
      await Promise.all(range(0, 3).map((n) => reporter.report(proxy.address, n, 10_000)));
      await until("the stream to be served", () => peer.streams.size === 1 && peer.received.length === 3);
      proxy.blackhole();
      await until("the edge to let go of it", () => peer.streams.size === 0);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  test("a server without the stream method gets batch calls, and is remembered", async () => {
    const peer = await startPeer({ stream: false });
    peers.push(peer);
    const { reporter, opened } = reporterFor(peer.server.address);
    await Promise.all(range(0, 5).map((n) => reporter.report(peer.server.address, n, 10_000)));
    await turn();
    await Promise.all(range(5, 5).map((n) => reporter.report(peer.server.address, n, 10_000)));
    expect(peer.received).toEqual(range(0, 10));
    expect(opened.streams).toBe(1);
    expect(peer.by.batch).toBeGreaterThanOrEqual(2);
  }, 30_000);

  test("a server with neither the stream nor the batch method gets unary calls", async () => {
    const peer = await startPeer({ stream: false, batch: false });
    peers.push(peer);
    const { reporter } = reporterFor(peer.server.address);
    await Promise.all(range(0, 5).map((n) => reporter.report(peer.server.address, n, 10_000)));
    expect([...peer.received].sort((a, b) => a - b)).toEqual(range(0, 5));
    expect(peer.by.one).toBe(5);
  }, 30_000);

  test("mode batch opens no stream", async () => {
    const peer = await startPeer();
    peers.push(peer);
    const { reporter, opened } = reporterFor(peer.server.address, { mode: "batch" });
    await Promise.all(range(0, 5).map((n) => reporter.report(peer.server.address, n, 10_000)));
    expect(opened.streams).toBe(0);
    expect(peer.by.streams).toBe(0);
    expect(peer.received).toEqual(range(0, 5));
  }, 30_000);

  test("a stream without the server's token is refused: counted and logged, never thrown; with it, served", async () => {
    const peer = await startPeer({ token: TOKEN });
    peers.push(peer);
    const replies = { ok: 0, error: 0 };
    const failures: unknown[] = [];
    const t = transport(peer.server.address);
    const reply = verdictReplier<number>({
      ...t.options,
      budgetMs: 5_000,
      replies: { inc: ({ outcome }) => void replies[outcome]++ },
      idOf: String,
      onFailure: (_a, _id, err) => failures.push(err),
    });
    await Promise.all(range(0, 3).map((n) => reply(peer.server.address, n, performance.now())));
    expect(replies).toEqual({ ok: 0, error: 3 });
    expect(failures.map((e) => (e as grpc.ServiceError).code)).toEqual([grpc.status.UNAUTHENTICATED, grpc.status.UNAUTHENTICATED, grpc.status.UNAUTHENTICATED]);
    expect(peer.by.streams).toBe(0);
    expect(peer.received).toEqual([]);
    await reply.close();

    const { reporter } = reporterFor(peer.server.address, {}, { interceptors: [authClientInterceptor(TOKEN)] });
    await Promise.all(range(0, 3).map((n) => reporter.report(peer.server.address, n, 10_000)));
    await until("verdicts", () => peer.received.length === 3);
    expect(peer.by).toMatchObject({ streams: 1, batch: 0 });
  }, 30_000);

  test("close() half-closes the stream, the server's Ack ends it, later verdicts go by calls", async () => {
    const peer = await startPeer();
    peers.push(peer);
    const { reporter } = reporterFor(peer.server.address);
    const first = range(0, 5).map((n) => reporter.report(peer.server.address, n, 10_000));
    await Promise.all(first);
    await reporter.close();
    expect(reporter.openStreams).toBe(0);
    expect(peer.streams.size).toBe(0);
    await reporter.report(peer.server.address, 5, 10_000);
    expect(peer.received).toEqual(range(0, 6));
    expect(peer.by).toMatchObject({ streams: 1, batch: 1 });
  }, 30_000);
});
