import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { type Bus, codecs, connectBus, natsConfigSchema, openSpool, streamNames } from "@postern/bus";
import { createDmarcZone, validateAggregateXml } from "@postern/libdmarc";
import { BodyRef, ClientInfo, DmarcCheckRequest, DmarcClient, DmarcStatus, SpfResult, SpfVerdict } from "@postern/proto";
import { unaryCall } from "@postern/service-kit";
import { type Backend, startNats } from "@postern/testing";
import { pino } from "pino";
import { AGGREGATE_STREAM, AGGREGATE_SUBJECT_PREFIX, runAggregateReports } from "./reports";
import { type CallbackServer, counterValue, key, message, publishCheck, sign, startCallbackServer, startTestDmarc, type TestDmarc, zone } from "./testing/harness";

describe("dmarc service on a real nats-server", () => {
  let nats: Backend;
  let bus: Bus;
  let edge: CallbackServer;
  let dmarc: TestDmarc;

  beforeAll(async () => {
    nats = await startNats();
    // rows reach the stream within 20 ms (the report job below reads them right away)
    dmarc = await startTestDmarc(nats, { dmarc: { dmarc_enable_forensic: true, dmarc_forensic_sender: "dmarc-failures@receiver.test", reports: { flush_ms: 20 } } });
    bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "edge-test", logger: pino({ level: "silent" }) });
    edge = await startCallbackServer();
  }, 30_000);

  afterAll(async () => {
    await dmarc?.stop();
    await edge?.stop();
    await bus?.drain();
    await nats?.stop();
  });

  const ask = (req: Partial<DmarcCheckRequest>): string => {
    const txnId = randomUUID();
    publishCheck(bus, { replyTo: { grpcAddress: edge.address, txnId }, client: ClientInfo.fromPartial({ ip: "192.0.2.25", helo: "client.test" }), ...req });
    return txnId;
  };
  const inline = (body: Buffer): BodyRef => BodyRef.fromPartial({ location: { $case: "inline", value: body }, size: String(body.length) });

  it("verifies DKIM and answers ReportDmarc: aligned pass, reject, quarantine, none, temperror", async () => {
    const pass = ask({ sender: "a@bounce.other.test", body: inline(sign(message("A <a@reject.test>"), "reject.test", "s1", key)) });
    const reject = ask({ sender: "a@other.test", body: inline(sign(message("a@reject.test"), "other.test", "s1", key)) });
    const quarantine = ask({ sender: "a@quarantine.test", body: inline(message("a@quarantine.test")), spf: SpfVerdict.fromPartial({ result: SpfResult.SPF_RESULT_FAIL, domain: "quarantine.test", identity: "mailfrom" }) });
    const spfPass = ask({ sender: "a@quarantine.test", body: inline(message("a@quarantine.test")), spf: SpfVerdict.fromPartial({ result: SpfResult.SPF_RESULT_PASS, domain: "quarantine.test", identity: "mailfrom" }) });
    const nofrom = ask({ body: inline(Buffer.from("Subject: x\r\n\r\nbody\r\n")) });
    const temp = ask({ body: inline(message("a@slow.test")) });
    expect(await edge.waitFor(pass)).toMatchObject({ status: DmarcStatus.DMARC_STATUS_ACCEPT, usedDomain: "reject.test", domainPolicy: "reject", result: "pass", authorDomain: "reject.test", mode: "rfc9989" });
    expect((await edge.waitFor(pass)).dkim).toEqual([{ domain: "reject.test", selector: "s1", result: "pass", reason: "" }]);
    const r = await edge.waitFor(reject);
    expect(r).toMatchObject({ status: DmarcStatus.DMARC_STATUS_REJECT, statusText: "Reject", domainPolicy: "reject", result: "fail" });
    expect(r.arHeader).toMatch(/^Authentication-Results: mx\.receiver\.test;\r\n\tdkim=pass header\.d=other\.test header\.s=s1 header\.b=\S+;\r\n\tdmarc=fail \(p=reject dis=reject\) header\.from=reject\.test$/);
    expect(await edge.waitFor(quarantine)).toMatchObject({ status: DmarcStatus.DMARC_STATUS_QUARANTINE });
    expect(await edge.waitFor(spfPass)).toMatchObject({ status: DmarcStatus.DMARC_STATUS_ACCEPT });
    expect(await edge.waitFor(nofrom)).toMatchObject({ status: DmarcStatus.DMARC_STATUS_NOFROM, domainPolicy: "" });
    expect(await edge.waitFor(temp)).toMatchObject({ status: DmarcStatus.DMARC_STATUS_TEMPERROR, domainPolicy: "" });
  });

  it("reads a spooled body from the object store; a missing object is temperror", async () => {
    const spool = await openSpool(bus);
    const body = sign(message("a@reject.test", { bodyBytes: 200_000 }), "reject.test", "s1", key);
    await spool.putBlob({ name: "spooled-1" }, body);
    const ok = ask({ body: BodyRef.fromPartial({ location: { $case: "spoolObject", value: "spooled-1" }, size: String(body.length) }) });
    const missing = ask({ body: BodyRef.fromPartial({ location: { $case: "spoolObject", value: "nope" }, size: "10" }) });
    expect(await edge.waitFor(ok)).toMatchObject({ status: DmarcStatus.DMARC_STATUS_ACCEPT });
    expect(await edge.waitFor(missing)).toMatchObject({ status: DmarcStatus.DMARC_STATUS_TEMPERROR, statusText: "Temporary error in DMARC processing: message not readable" });
  });

  it("queues a failure report (MAIL record to the ruf= address) when dmarc_enable_forensic is set", async () => {
    const before = (await bus.jsm.streams.info(streamNames.mail)).state.messages;
    const t = ask({ sender: "x@evil.test", body: inline(message("ceo@reject.test", { subject: "forensic" })) });
    expect(await edge.waitFor(t)).toMatchObject({ status: DmarcStatus.DMARC_STATUS_REJECT });
    for (let i = 0; i < 250 && (await bus.jsm.streams.info(streamNames.mail)).state.messages === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await counterValue(dmarc.ctx, "postern_dmarc_reports_total", { kind: "forensic", outcome: "queued" })).toBeGreaterThan(0);
    const info = await bus.jsm.streams.info(streamNames.mail);
    expect(info.state.messages).toBeGreaterThan(before);
    const last = await bus.jsm.streams.getMessage(streamNames.mail, { seq: info.state.last_seq });
    const record = codecs.mail.decode(last!.data);
    expect(record.sender).toBe("dmarc-failures@receiver.test");
    expect(record.recipients.map((x) => x.address)).toEqual(["fail@reject.test"]);
    const text = Buffer.from(record.body?.location?.$case === "inline" ? record.body.location.value : new Uint8Array()).toString();
    expect(text).toContain("Feedback-Type: auth-failure");
  });

  it("records aggregate rows; the report job builds RFC 9990 XML that validates and queues it to rua=", async () => {
    // Rows reach the stream at the recorder's flushes (reports.flush_ms = 20): wait until the
    // stream has reject.test rows and then no new message for ten flush periods, so that the
    // purge below cannot race a late flush.
    const subject = `${AGGREGATE_SUBJECT_PREFIX}.${Buffer.from("reject.test").toString("hex")}`;
    const published = async (): Promise<boolean> => (await bus.jsm.streams.getMessage(AGGREGATE_STREAM, { last_by_subj: subject }).catch(() => null)) !== null;
    for (let i = 0; i < 250 && !(await published()); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await published()).toBe(true);
    let last = -1;
    for (let i = 0; i < 100; i++) {
      const seq = (await bus.jsm.streams.info(AGGREGATE_STREAM)).state.last_seq;
      if (seq === last) break;
      last = seq;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await counterValue(dmarc.ctx, "postern_dmarc_reports_total", { kind: "aggregate_row", outcome: "ok" })).toBeGreaterThan(0);
    const out = await runAggregateReports({ bus, dns: createDmarcZone(zone), mode: "rfc9989", receiver: "mx.receiver.test", orgName: "Receiver", email: "dmarc@receiver.test" });
    const report = out.find((o) => o.domain === "reject.test");
    expect(report).toBeDefined();
    expect(report!.recipients).toEqual(["agg@reject.test"]);
    expect(report!.messageId).toBeDefined();
    const check = validateAggregateXml(report!.xml);
    expect(check.ok).toBe(true);
    expect(report!.xml).toContain("<source_ip>192.0.2.25</source_ip>");
    // the rows were purged
    expect(await runAggregateReports({ bus, dns: createDmarcZone(zone), mode: "rfc9989", receiver: "r", orgName: "o", email: "e@r" })).toEqual([]);
  });

  it("serves Dmarc.Evaluate", async () => {
    const client = new DmarcClient(dmarc.grpcAddress, grpc.credentials.createInsecure());
    try {
      const v = await unaryCall(client.evaluate.bind(client), DmarcCheckRequest.fromPartial({ replyTo: { grpcAddress: "", txnId: "op" }, body: inline(message("a@none.test")) }), 5_000);
      expect(v).toMatchObject({ txnId: "op", status: DmarcStatus.DMARC_STATUS_NONE, domainPolicy: "none", result: "fail" });
    } finally {
      client.close();
    }
  });
});
