import { type Bus, connectBus, natsConfigSchema } from "@postern/bus";
import { type AggregateRow, createDmarcZone, type DmarcVerdict, evaluateDmarc } from "@postern/libdmarc";
import { type Backend, startNats } from "@postern/testing";
import { pino } from "pino";
import { AGGREGATE_STREAM, AggregateRecorder, ensureAggregateStream, recordAggregate, ReportLimiter, rowKey, runAggregateReports } from "./reports";

test("failure reports are limited per domain and window", () => {
  let now = 0;
  const limiter = new ReportLimiter(2, 1_000, () => now);
  expect([limiter.take("a.test"), limiter.take("a.test"), limiter.take("a.test"), limiter.take("b.test")]).toEqual([true, true, false, true]);
  now = 1_000;
  expect(limiter.take("a.test")).toBe(true);
});

test("rowKey: two rows share a key exactly when their facts (all but the count) are equal", () => {
  const base: AggregateRow = {
    sourceIp: "192.0.2.1",
    count: 1,
    disposition: "none",
    dkim: "fail",
    spf: "pass",
    reasons: [],
    envelopeFrom: "a.test",
    headerFrom: "a.test",
    dkimResults: [],
    spfResults: [{ domain: "a.test", scope: "mfrom", result: "pass" }],
  };
  const rows: AggregateRow[] = [
    base,
    { ...base, count: 7 },
    { ...base, sourceIp: "192.0.2.2" },
    { ...base, disposition: "reject", spf: "fail" },
    { ...base, reasons: [{ type: "policy_test_mode" }] },
    { ...base, reasons: [{ type: "other", comment: "" }] },
    { ...base, reasons: [{ type: "other", comment: "x" }] },
    { ...base, envelopeTo: "b.test" },
    { ...base, envelopeTo: "" },
    (({ envelopeFrom: _omit, ...rest }) => rest)(base),
    { ...base, envelopeFrom: "" },
    { ...base, headerFrom: "a.test1:" },
    { ...base, headerFrom: "a.tes", envelopeFrom: "ta.test" },
    { ...base, dkimResults: [{ domain: "a.test", selector: "s", result: "pass" }] },
    { ...base, dkimResults: [{ domain: "a.test", selector: "s", result: "pass", humanResult: "" }] },
    { ...base, dkimResults: [{ domain: "a.test", selector: "s", result: "pass" }, { domain: "b.test", selector: "", result: "fail", humanResult: "bad" }] },
    { ...base, spfResults: [{ domain: "a.test", result: "pass" }] },
    { ...base, spfResults: [{ domain: "", result: "none" }] },
    { ...base, sourceIp: "1:2", headerFrom: "3" },
    { ...base, sourceIp: "1", headerFrom: "2:3" },
  ];
  const facts = (r: AggregateRow): string => JSON.stringify({ ...r, count: 0 });
  for (const a of rows) for (const b of rows) expect(rowKey(a) === rowKey(b)).toBe(facts(a) === facts(b));
});

describe("aggregate rows on a real nats-server", () => {
  let nats: Backend;
  let bus: Bus;
  const zone = createDmarcZone({
    "_dmarc.a.test": { txt: ["v=DMARC1; p=reject; rua=mailto:agg@a.test"] },
    "_dmarc.b.test": { txt: ["v=DMARC1; p=none; rua=mailto:agg@b.test"] },
    "_dmarc.norua.test": { txt: ["v=DMARC1; p=reject"] },
  });
  const verdict = (from: string, spf: "pass" | "fail"): Promise<DmarcVerdict> =>
    evaluateDmarc(
      { message: `From: <x@${from}>\r\n\r\nbody\r\n`, dkim: [], spf: { result: spf, domain: from } },
      { dns: zone, mode: "rfc9989", authservId: "mx.receiver.test" },
    );
  const report = (send = true) => runAggregateReports({ bus, dns: zone, mode: "rfc9989", receiver: "mx.receiver.test", orgName: "Receiver", email: "dmarc@receiver.test", send });
  const silent = pino({ level: "silent" });

  beforeAll(async () => {
    nats = await startNats();
    bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "reports-test", logger: silent });
    await ensureAggregateStream(bus, 3600);
  }, 30_000);

  afterAll(async () => {
    await bus?.drain();
    await nats?.stop();
  });

  afterEach(async () => {
    await bus.jsm.streams.purge(AGGREGATE_STREAM);
  });

  it("merges the rows of a window into one message per policy domain, counts kept", async () => {
    const flushed: [string, number][] = [];
    const recorder = new AggregateRecorder(bus, { flushMs: 60_000, maxRows: 1000, logger: silent, onFlushed: (outcome, n) => flushed.push([outcome, n]) });
    const [passA, failA, passB, noRua] = await Promise.all([verdict("a.test", "pass"), verdict("a.test", "fail"), verdict("b.test", "pass"), verdict("norua.test", "pass")]);
    for (let i = 0; i < 5; i++) expect(recorder.add(passA, { sourceIp: "192.0.2.1" })).toBe(true);
    recorder.add(failA, { sourceIp: "192.0.2.2" });
    recorder.add(passB, { sourceIp: "192.0.2.1" });
    expect(recorder.add(noRua, { sourceIp: "192.0.2.1" })).toBe(false);
    expect((await bus.jsm.streams.info(AGGREGATE_STREAM)).state.messages).toBe(0);
    await recorder.close();
    expect((await bus.jsm.streams.info(AGGREGATE_STREAM)).state.messages).toBe(2);
    expect(flushed.sort()).toEqual([["ok", 1], ["ok", 6]]);
    const out = await report(false);
    const a = out.find((o) => o.domain === "a.test");
    expect(a?.rows).toBe(2);
    expect(a?.xml).toMatch(/<source_ip>192\.0\.2\.1<\/source_ip>\s*<count>5<\/count>/);
    expect(a?.xml).toMatch(/<source_ip>192\.0\.2\.2<\/source_ip>\s*<count>1<\/count>/);
    expect(out.find((o) => o.domain === "b.test")?.rows).toBe(1);
  });

  it("publishes after flushMs, at maxRows distinct rows at once, and reads single rows stored before batching", async () => {
    const v = await verdict("a.test", "pass");
    expect(await recordAggregate(bus, v, { sourceIp: "192.0.2.9" })).toBe(true);
    const timed = new AggregateRecorder(bus, { flushMs: 20, maxRows: 1000, logger: silent });
    timed.add(v, { sourceIp: "192.0.2.9" });
    for (let i = 0; i < 250 && (await bus.jsm.streams.info(AGGREGATE_STREAM)).state.messages < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await bus.jsm.streams.info(AGGREGATE_STREAM)).state.messages).toBe(2);
    const full = new AggregateRecorder(bus, { flushMs: 60_000, maxRows: 2, logger: silent });
    full.add(v, { sourceIp: "192.0.2.10" });
    full.add(v, { sourceIp: "192.0.2.11" });
    await full.flush(); // the second distinct row started the flush already; this waits for it
    expect((await bus.jsm.streams.info(AGGREGATE_STREAM)).state.messages).toBe(3);
    const a = (await report(false)).find((o) => o.domain === "a.test");
    expect(a?.rows).toBe(3);
    expect(a?.xml).toMatch(/<source_ip>192\.0\.2\.9<\/source_ip>\s*<count>2<\/count>/);
    await timed.close();
    await full.close();
  });

  it("reports the last policy a domain published during the window", async () => {
    const before = await verdict("a.test", "pass");
    const changed = createDmarcZone({ "_dmarc.a.test": { txt: ["v=DMARC1; p=quarantine; rua=mailto:new@a.test"] } });
    const after = await evaluateDmarc({ message: "From: <x@a.test>\r\n\r\nbody\r\n", dkim: [], spf: { result: "pass", domain: "a.test" } }, { dns: changed, mode: "rfc9989", authservId: "mx.receiver.test" });
    const recorder = new AggregateRecorder(bus, { flushMs: 60_000, maxRows: 1000, logger: silent });
    recorder.add(before, { sourceIp: "192.0.2.1" });
    recorder.add(after, { sourceIp: "192.0.2.1" });
    await recorder.close();
    const a = (await report(false)).find((o) => o.domain === "a.test");
    expect(a?.xml).toContain("<p>quarantine</p>");
    expect(a?.xml).toMatch(/<count>2<\/count>/);
  });

  it("keeps the rows of a failed publish for the next flush", async () => {
    const v = await verdict("a.test", "pass");
    const flushed: [string, number][] = [];
    const recorder = new AggregateRecorder(bus, { flushMs: 60_000, maxRows: 1000, logger: silent, onFlushed: (outcome, n) => flushed.push([outcome, n]) });
    await bus.jsm.streams.delete(AGGREGATE_STREAM); // the publish fails: no stream
    recorder.add(v, { sourceIp: "192.0.2.1" });
    await recorder.flush();
    expect(flushed).toEqual([]);
    await ensureAggregateStream(bus, 3600);
    recorder.add(v, { sourceIp: "192.0.2.1" });
    await recorder.close();
    expect(flushed).toEqual([["ok", 2]]);
    const a = (await report(false)).find((o) => o.domain === "a.test");
    expect(a?.xml).toMatch(/<count>2<\/count>/);
  });
});
