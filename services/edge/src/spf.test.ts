import * as grpc from "@grpc/grpc-js";
import { codecs, connectBus, natsConfigSchema, subjects, type Bus } from "@postern/bus";
import { EdgeCallbackClient, type SpfCheckRequest, SpfResult, SpfVerdict } from "@postern/proto";
import { unaryCall } from "@postern/service-kit";
import { type Backend, startNats } from "@postern/testing";
import { pino } from "pino";
import { advertisedAddress } from "./service";
import { idOf, MailReader, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

/** A worker speaking the real protocol: requests from NATS, answers over EdgeCallback gRPC. */
async function spfWorker(nats: Backend, answer: (req: SpfCheckRequest) => Partial<SpfVerdict>): Promise<{ requests: SpfCheckRequest[]; stop(): Promise<void> }> {
  const bus: Bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "spf-worker-test", logger: pino({ level: "silent" }) });
  const requests: SpfCheckRequest[] = [];
  const clients = new Map<string, EdgeCallbackClient>();
  bus.nc.subscribe(subjects.spfCheck, {
    queue: "spf",
    callback: (_err, msg) => {
      const req = codecs.spfCheck.decode(msg.data);
      requests.push(req);
      const address = req.replyTo?.grpcAddress ?? "";
      const client = clients.get(address) ?? new EdgeCallbackClient(address, grpc.credentials.createInsecure());
      clients.set(address, client);
      void unaryCall(client.reportSpf.bind(client), SpfVerdict.fromPartial({ txnId: req.replyTo?.txnId ?? "", ...answer(req) }), 2000).catch(() => undefined);
    },
  });
  await bus.nc.flush();
  return {
    requests,
    stop: async () => {
      for (const c of clients.values()) c.close();
      await bus.drain();
    },
  };
}

async function attempt(port: number, rcpt = "user@localhost"): Promise<string[]> {
  const c = await SmtpTestClient.open(port);
  try {
    const [, ehlo = ""] = await c.greet();
    c.send(`MAIL FROM:<a@example.org>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
    const head = [ehlo, ...(await c.read(3))];
    if (!head[3]?.startsWith("354")) return head;
    c.send("Subject: spf\r\n\r\nhello\r\n.\r\nQUIT\r\n");
    return [...head, ...(await c.read(2))];
  } finally {
    c.close();
  }
}

describe("edge: SPF verdicts from the spf worker", () => {
  let nats: Backend;
  let reader: MailReader;
  const results = new Map<string, SpfResult>();
  let worker: Awaited<ReturnType<typeof spfWorker>>;

  beforeAll(async () => {
    nats = await startNats();
    reader = await MailReader.open(nats);
    // The worker answers by HELO name in these tests, so each test picks its verdict.
    worker = await spfWorker(nats, (req) => ({
      result: results.get(req.sender) ?? SpfResult.SPF_RESULT_PASS,
      domain: "example.org",
      smtpComment: results.get(req.sender) === SpfResult.SPF_RESULT_FAIL ? "Please see http://www.open-spf.org/Why?id=a%40example.org" : "",
      receivedSpf: `pass (edge.test: domain of a@example.org designates ${req.ip} as permitted sender) client-ip=${req.ip};`,
    }));
  });

  afterAll(async () => {
    await worker?.stop();
    await reader?.close();
    await nats?.stop();
  });

  const withEdge = async (edgeConfig: Record<string, unknown>, body: (edge: TestEdge) => Promise<void>): Promise<void> => {
    const edge = await startTestEdge(nats, { relay_from_hosts: ["192.0.2.1"], spf_enable: true, spf_timeout_ms: 500, ...edgeConfig });
    try {
      await body(edge);
    } finally {
      await edge.stop();
    }
  };

  it("adds Received-SPF to accepted mail after a pass, with the request carrying the client facts", async () => {
    results.set("a@example.org", SpfResult.SPF_RESULT_PASS);
    await withEdge({}, async (edge) => {
      const replies = await attempt(edge.port);
      expect(replies[4]).toMatch(/^250 2\.0\.0 OK id=/);
      const record = await reader.record(idOf(replies[4]));
      const body = record.body?.location?.$case === "inline" ? Buffer.from(record.body.location.value).toString("latin1") : "";
      expect(body).toMatch(/^Received-SPF: pass \(edge\.test: domain of a@example\.org designates 127\.0\.0\.1 as permitted sender\) client-ip=127\.0\.0\.1;\r\nReceived: from client\.test/);
      expect(worker.requests.at(-1)).toMatchObject({ ip: "127.0.0.1", helo: "client.test", sender: "a@example.org" });
    });
  });

  it("rejects RCPT with 550 5.7.23 on fail, quoting the SPF comment", async () => {
    results.set("a@example.org", SpfResult.SPF_RESULT_FAIL);
    await withEdge({}, async (edge) => {
      const replies = await attempt(edge.port);
      expect(replies[2]).toBe("550 5.7.23 Please see http://www.open-spf.org/Why?id=a%40example.org\r\n");
      expect(edge.logs.lines.some((l) => l.event === "spf.rejected" && l.result === "fail")).toBe(true);
    });
  });

  it("rejects at end of DATA when spf_check_at is data", async () => {
    results.set("a@example.org", SpfResult.SPF_RESULT_FAIL);
    await withEdge({ spf_check_at: "data" }, async (edge) => {
      const replies = await attempt(edge.port);
      expect(replies[2]).toMatch(/^250 2\.1\.5/);
      expect(replies[4]).toMatch(/^550 5\.7\.23 /);
    });
  });

  it("defers with 451 4.7.24 when no verdict arrives in time (temperror), and honours custom lists with aliases", async () => {
    results.set("a@example.org", SpfResult.SPF_RESULT_SOFTFAIL);
    await withEdge({ spf_reject: "fail : softfail", spf_defer: "err_temp" }, async (edge) => {
      expect((await attempt(edge.port))[2]).toMatch(/^550 5\.7\.23 /);
    });
    await withEdge({ spf_timeout_ms: 50, grpc: { listen: "127.0.0.1:0", advertise: "127.0.0.1:1" } }, async (edge) => {
      expect((await attempt(edge.port))[2]).toMatch(/^451 4\.7\.24 /);
    });
  });

  it("does not check clients in relay_from_hosts", async () => {
    const before = worker.requests.length;
    await withEdge({ relay_from_hosts: ["127.0.0.1"] }, async (edge) => {
      expect((await attempt(edge.port))[4]).toMatch(/^250 2\.0\.0 /);
    });
    expect(worker.requests.length).toBe(before);
  });
});

describe("advertisedAddress", () => {
  it.each([
    [undefined, "127.0.0.1:5000", {}, "127.0.0.1:5000"],
    ["edge-0.edge:50051", "0.0.0.0:50051", {}, "edge-0.edge:50051"],
    ["edge-0.edge:0", "0.0.0.0:43210", {}, "edge-0.edge:43210"],
    [undefined, "0.0.0.0:50051", { POD_IP: "10.1.2.3" }, "10.1.2.3:50051"],
    [undefined, "0.0.0.0:50051", { POD_IP: "fd00::1" }, "[fd00::1]:50051"],
    [undefined, "0.0.0.0:50051", {}, "127.0.0.1:50051"],
    [undefined, "[::]:50051", {}, "[::1]:50051"],
  ])("advertise %j, listening on %s, env %j → %s", (advertise, listen, env, want) => {
    const port = Number(listen.slice(listen.lastIndexOf(":") + 1));
    expect(advertisedAddress(advertise, listen, port, env)).toBe(want);
  });
});
