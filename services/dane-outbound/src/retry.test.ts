import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startSmtpSink, type SmtpSink } from "@postern/testing";
import { freePort, hasComplete, inlineBody, OutcomesSink, rcpts, startHarness, type Harness } from "./test-harness";

jest.setTimeout(60_000);

describe("dane-outbound retries", () => {
  let h: Harness;
  let outcomes: OutcomesSink;
  let dir: string;
  let smtpPort: number;
  let sink: SmtpSink | undefined;

  beforeAll(async () => {
    h = await startHarness();
    outcomes = new OutcomesSink(await freePort());
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "postern-retry-"));
    smtpPort = await freePort();
    await h.start({
      routes: { "local.test": `maildir:${dir}`, "retry.test": `smtp:127.0.0.1:${smtpPort}`, "*": `smtp:127.0.0.1:${smtpPort}` },
      delivery_events: { address: outcomes.address, deadline_ms: 1000 },
      retry: { schedule_seconds: [2], max_age_seconds: 3600 },
      report_retry_seconds: 1,
    });
  });

  afterAll(async () => {
    await h?.close();
    await outcomes?.stop();
    await sink?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("reports outcomes once delivery-events is back, without delivering twice", async () => {
    await h.publish({ messageId: "m-down-1", recipients: rcpts("carol@local.test"), body: inlineBody("Subject: d\r\n\r\ndown\r\n") });
    const newDir = path.join(dir, "carol", "new");
    for (let i = 0; i < 100 && (await fs.readdir(newDir).catch(() => [])).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await fs.readdir(newDir)).toHaveLength(1);
    // Let the record come back at least once while delivery-events is still down.
    await new Promise((r) => setTimeout(r, 2500));
    expect(h.logs.filter((l) => l.event === "outcome.report_failed" && l.message_id === "m-down-1").length).toBeGreaterThanOrEqual(2);
    await outcomes.start();
    const events = await outcomes.waitFor("m-down-1", hasComplete, 20000);
    expect(events.map((e) => e.name)).toEqual(["msg:delivery", "msg:complete"]);
    expect(await fs.readdir(newDir)).toHaveLength(1);
    expect(h.logs.filter((l) => l.event === "delivery" && l.message_id === "m-down-1")).toHaveLength(1);
  });

  it("defers a 451 recipient and delivers it on retry, without re-delivering the others", async () => {
    sink = await startSmtpSink({ port: smtpPort, rcptReplies: { "later@retry.test": "451 4.3.0 try later" } });
    await h.publish({ messageId: "m-451", recipients: rcpts("now@retry.test", "later@retry.test"), body: inlineBody("Subject: r\r\n\r\nretry\r\n") });
    const first = await outcomes.waitFor("m-451", (ev) => ev.some((e) => e.name === "msg:rcpt:defer"));
    const defer = first.find((e) => e.name === "msg:rcpt:defer");
    expect(defer).toMatchObject({ deliveryLocalPart: "later", deferErrno: -44, deferErrstr: "SMTP error from remote mail server after RCPT TO:<later@retry.test>: 451 4.3.0 try later" });
    expect((await sink.waitForMessages(1))[0]?.rcptTo).toEqual(["now@retry.test"]);
    await sink.stop();
    sink = await startSmtpSink({ port: smtpPort });
    const events = await outcomes.waitFor("m-451", hasComplete);
    const [second] = await sink.waitForMessages(1);
    expect(second?.rcptTo).toEqual(["later@retry.test"]);
    expect(events.filter((e) => e.name === "msg:delivery").map((e) => e.deliveryLocalPart).sort()).toEqual(["later", "now"]);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(h.logs.find((l) => l.event === "delivery.defer" && l.message_id === "m-451")?.msg).toBe(
      `m-451 == later@retry.test R=route:retry.test T=smtp H=127.0.0.1 [127.0.0.1]:${smtpPort} defer (-44): SMTP error from remote mail server after RCPT TO:<later@retry.test>: 451 4.3.0 try later`,
    );
  });

  it("defers every recipient when the server is unreachable, and fails them once the retry time is over", async () => {
    await sink?.stop();
    sink = undefined;
    const old = new Date(Date.now() - 3600 * 1000 - 1000);
    await h.publish({ messageId: "m-expired", receivedAt: old, recipients: rcpts("gone@else.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-expired", hasComplete);
    expect(events.map((e) => e.name)).toEqual(["msg:host:defer", "msg:rcpt:host:defer", "msg:rcpt:defer", "msg:fail:delivery", "msg:complete"]);
    expect(events[0]).toMatchObject({ deferErrstr: "Connection refused", deliveryIp: "127.0.0.1" });
    events.splice(0, 2);
    expect(events[0]).toMatchObject({ deferErrno: os.constants.errno.ECONNREFUSED, deferErrstr: "Connection refused", routerName: "route:*" });
    expect(events[1]?.deferErrstr).toBe("retry time exceeded: Connection refused");
  });
});
