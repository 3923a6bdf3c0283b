import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { type Bus, connectBus, natsConfigSchema, subjects } from "@postern/bus";
import { SpfCheckRequest, SpfClient, SpfResult, type SpfVerdict } from "@postern/proto";
import { unaryCall } from "@postern/service-kit";
import { type Backend, freePort, startNats } from "@postern/testing";
import { pino } from "pino";
import { type CallbackServer, counterValue, publishCheck, slowDns, startCallbackServer, startTestSpf, type TestSpf, zoneDns } from "./testing/harness";

const never = new Promise<never>(() => undefined);

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("spf service on a real nats-server", () => {
  let nats: Backend;
  let bus: Bus;
  let edge: CallbackServer;

  beforeAll(async () => {
    nats = await startNats();
    bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "edge-test", logger: pino({ level: "silent" }) });
    edge = await startCallbackServer();
  });

  afterAll(async () => {
    await edge?.stop();
    await bus?.drain();
    await nats?.stop();
  });

  const ask = (req: Partial<SpfCheckRequest>): string => {
    const txnId = randomUUID();
    publishCheck(bus, { replyTo: { grpcAddress: edge.address, txnId }, ...req });
    return txnId;
  };

  describe("one instance", () => {
    let spf: TestSpf;
    beforeAll(async () => {
      spf = await startTestSpf(nats);
    });
    afterAll(async () => {
      await spf?.stop();
    });

    it("answers an spf.check published as the edge does through EdgeCallback.ReportSpf", async () => {
      const pass = ask({ ip: "192.0.2.10", sender: "a@pass.test", helo: "client.test" });
      const fail = ask({ ip: "203.0.113.5", sender: "b@fail.test", helo: "client.test" });
      const helo = ask({ ip: "2001:db8:5::7", sender: "c@other.test", helo: "mx.test", checkHelo: true });
      expect(await edge.waitFor(pass)).toMatchObject({ txnId: pass, result: SpfResult.SPF_RESULT_PASS, domain: "pass.test", identity: "mailfrom" });
      expect((await edge.waitFor(pass)).receivedSpf).toMatch(/^pass \(spf\.test: domain of a@pass\.test designates 192\.0\.2\.10 as permitted sender\) client-ip=192\.0\.2\.10;/);
      expect(await edge.waitFor(fail)).toMatchObject({ result: SpfResult.SPF_RESULT_FAIL, explanation: "203.0.113.5 is not one of fail.test's designated mail servers", smtpComment: "203.0.113.5 is not one of fail.test's designated mail servers" });
      expect(await edge.waitFor(helo)).toMatchObject({ result: SpfResult.SPF_RESULT_PASS, domain: "mx.test", identity: "helo" });
      expect(await counterValue(spf.ctx, "postern_spf_checks_total", { source: "nats" })).toBe(3);
      await until("replies counted", async () => (await counterValue(spf.ctx, "postern_spf_replies_total", { outcome: "ok" })) === 3);
    });

    it("answers an edge without ReportSpfBatch (older version) through ReportSpf, many verdicts at once", async () => {
      const oldEdge = await startCallbackServer({ batched: false });
      try {
        const txnIds = Array.from({ length: 50 }, (_, i) => {
          const txnId = randomUUID();
          publishCheck(bus, { replyTo: { grpcAddress: oldEdge.address, txnId }, ip: `192.0.2.${i + 1}`, sender: "a@pass.test", helo: "h.test" });
          return txnId;
        });
        for (const txnId of txnIds) expect(await oldEdge.waitFor(txnId)).toMatchObject({ txnId, result: SpfResult.SPF_RESULT_PASS });
      } finally {
        await oldEdge.stop();
      }
    });

    it("answers an edge without StreamSpfVerdicts (older version) through ReportSpfBatch", async () => {
      const oldEdge = await startCallbackServer({ streamed: false });
      try {
        const txnIds = Array.from({ length: 20 }, (_, i) => {
          const txnId = randomUUID();
          publishCheck(bus, { replyTo: { grpcAddress: oldEdge.address, txnId }, ip: `192.0.2.${i + 1}`, sender: "a@pass.test", helo: "h.test" });
          return txnId;
        });
        for (const txnId of txnIds) expect(await oldEdge.waitFor(txnId)).toMatchObject({ txnId, result: SpfResult.SPF_RESULT_PASS });
      } finally {
        await oldEdge.stop();
      }
    });

    it("drops and counts requests without reply_to and undecodable ones; answers a bad IP with temperror", async () => {
      publishCheck(bus, { ip: "192.0.2.10", sender: "a@pass.test", helo: "h" });
      publishCheck(bus, { replyTo: { grpcAddress: edge.address, txnId: "" }, ip: "192.0.2.10", sender: "a@pass.test" });
      bus.nc.publish(subjects.spfCheck, new Uint8Array([0xff, 0xff, 0xff]));
      const bad = ask({ ip: "not-an-ip", sender: "a@pass.test", helo: "h" });
      expect(await edge.waitFor(bad)).toMatchObject({ result: SpfResult.SPF_RESULT_TEMPERROR, smtpComment: "spf.test: invalid client address" });
      await until("drop counters", async () => (await counterValue(spf.ctx, "postern_spf_requests_dropped_total")) === 4);
      expect(await counterValue(spf.ctx, "postern_spf_requests_dropped_total", { reason: "no_reply_to" })).toBe(2);
      expect(await counterValue(spf.ctx, "postern_spf_requests_dropped_total", { reason: "undecodable" })).toBe(1);
      expect(await counterValue(spf.ctx, "postern_spf_requests_dropped_total", { reason: "invalid_ip" })).toBe(1);
    });

    it("serves Spf.Check for IPv4 and IPv6, INVALID_ARGUMENT for a bad address", async () => {
      const client = new SpfClient(spf.grpcAddress, grpc.credentials.createInsecure());
      try {
        const call = (req: Partial<SpfCheckRequest>): Promise<SpfVerdict> => unaryCall(client.check.bind(client), SpfCheckRequest.fromPartial(req), 5_000);
        expect(await call({ ip: "192.0.2.44", sender: "x@pass.test", helo: "h.test", replyTo: { grpcAddress: "", txnId: "op-1" } })).toMatchObject({ txnId: "op-1", result: SpfResult.SPF_RESULT_PASS, domain: "pass.test" });
        expect(await call({ ip: "2001:db8:1::44", sender: "x@pass.test", helo: "h.test" })).toMatchObject({ result: SpfResult.SPF_RESULT_PASS });
        expect(await call({ ip: "2001:db9::1", sender: "x@pass.test", helo: "h.test" })).toMatchObject({ result: SpfResult.SPF_RESULT_FAIL });
        expect(await call({ ip: "::ffff:203.0.113.9", sender: "x@soft.test", helo: "h.test" })).toMatchObject({ result: SpfResult.SPF_RESULT_SOFTFAIL });
        await expect(call({ ip: "192.0.2.300", sender: "x@pass.test", helo: "h.test" })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
        await expect(call({ ip: "", sender: "x@pass.test", helo: "h.test" })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
        expect(await counterValue(spf.ctx, "postern_spf_checks_total", { source: "grpc" })).toBe(4);
      } finally {
        client.close();
      }
    });
  });

  it("two instances share the load through the queue group", async () => {
    const [a, b] = await Promise.all([startTestSpf(nats), startTestSpf(nats)]);
    try {
      const txns = Array.from({ length: 400 }, (_, i) => ask({ ip: `192.0.2.${i % 250}`, sender: `u${i}@pass.test`, helo: "h.test" }));
      const verdicts = await Promise.all(txns.map((t) => edge.waitFor(t)));
      expect(verdicts.every((v) => v.result === SpfResult.SPF_RESULT_PASS)).toBe(true);
      const perInstance = [await counterValue(a.ctx, "postern_spf_checks_total"), await counterValue(b.ctx, "postern_spf_checks_total")];
      expect(perInstance[0]! + perInstance[1]!).toBe(400);
      expect(Math.min(...perInstance)).toBeGreaterThan(100);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("at shutdown stops taking requests, finishes the checks in flight, then closes gRPC", async () => {
    const spf = await startTestSpf(nats, { dns: slowDns(zoneDns(), 300) });
    const txns = Array.from({ length: 20 }, (_, i) => ask({ ip: "192.0.2.1", sender: `s${i}@pass.test`, helo: "h.test" }));
    await until("checks in flight", async () => (await counterValue(spf.ctx, "postern_spf_checks_in_flight")) === 20);
    await spf.stop();
    const verdicts = await Promise.all(txns.map((t) => edge.waitFor(t, 1)));
    expect(verdicts.every((v) => v.result === SpfResult.SPF_RESULT_PASS)).toBe(true);
    const client = new SpfClient(spf.grpcAddress, grpc.credentials.createInsecure());
    await expect(unaryCall(client.check.bind(client), SpfCheckRequest.fromPartial({ ip: "192.0.2.1", sender: "a@pass.test" }), 1_000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    client.close();
    const events = spf.logs.lines.map((l) => l.event ?? l.msg);
    expect(events.indexOf("spf.consumer_stopped")).toBeGreaterThan(-1);
  });

  it("uses the configured DNS servers through @postern/dns and counts queries (a dead server: temperror)", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const spf = await startTestSpf(nats, { dns: null, spf: { dns: { servers: [dead], timeout_ms: 100, attempts: 1 } } });
    const client = new SpfClient(spf.grpcAddress, grpc.credentials.createInsecure());
    try {
      const v = await unaryCall(client.check.bind(client), SpfCheckRequest.fromPartial({ ip: "192.0.2.1", sender: "a@example.org", helo: "h.test" }), 5_000);
      expect(v).toMatchObject({ result: SpfResult.SPF_RESULT_TEMPERROR, domain: "example.org" });
      expect(await counterValue(spf.ctx, "postern_dns_queries_total", { type: "TXT" })).toBeGreaterThan(0);
    } finally {
      client.close();
      await spf.stop();
    }
  });

  it("answers temperror at once beyond max_in_flight, and bounds a check by check_timeout_ms", async () => {
    const hanging = { ...zoneDns(), txt: () => never };
    const spf = await startTestSpf(nats, { dns: hanging, spf: { max_in_flight: 2, check_timeout_ms: 300 } });
    try {
      const started = Date.now();
      const txns = [0, 1, 2, 3].map((i) => ask({ ip: "192.0.2.1", sender: `o${i}@pass.test`, helo: "h.test" }));
      const verdicts = await Promise.all(txns.map((t) => edge.waitFor(t)));
      const busy = verdicts.filter((v) => v.smtpComment === "spf.test: SPF service busy");
      const timedOut = verdicts.filter((v) => v.receivedSpf.startsWith("temperror (spf.test: "));
      expect(verdicts.every((v) => v.result === SpfResult.SPF_RESULT_TEMPERROR)).toBe(true);
      expect(busy).toHaveLength(2);
      expect(timedOut.length).toBeGreaterThanOrEqual(2);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await counterValue(spf.ctx, "postern_spf_requests_dropped_total", { reason: "overload" })).toBe(2);
    } finally {
      await spf.stop();
    }
  });
});
