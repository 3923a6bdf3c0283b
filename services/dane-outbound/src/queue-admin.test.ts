import { startSmtpSink, type SmtpSink } from "@postern/testing";
import { actOnMessage, formatDetails, formatQueueEntry, listQueue } from "./queue-admin";
import { freePort, inlineBody, OutcomesSink, rcpts, startHarness, type Harness } from "./test-harness";

/** postern queue's library: list/show a parked message, retry it now, bounce it. */
describe("queue administration", () => {
  let h: Harness;
  let outcomes: OutcomesSink;
  let deferring: SmtpSink;
  let bounces: SmtpSink;

  beforeAll(async () => {
    h = await startHarness();
    outcomes = new OutcomesSink(await freePort());
    await outcomes.start();
    deferring = await startSmtpSink({ rcptReplies: { "later@slow.test": "451 4.3.0 try later" } });
    bounces = await startSmtpSink();
    await h.start({
      routes: { "slow.test": `smtp:127.0.0.1:${deferring.port}`, "sender.test": `smtp:127.0.0.1:${bounces.port}` },
      retry: { schedule_seconds: [3600] },
      delivery_events: { address: outcomes.address, deadline_ms: 2000 },
    });
  }, 60_000);

  afterAll(async () => {
    await h.close();
    await deferring.stop();
    await bounces.stop();
    await outcomes.stop();
  });

  const defers = (n: number) => (events: Array<{ name: string }>) => events.filter((e) => e.name === "msg:rcpt:defer").length >= n;

  it("lists and shows a deferred message, retries it now, then bounces it", async () => {
    await h.publish({ messageId: "q-1", sender: "alice@sender.test", recipients: rcpts("later@slow.test"), body: inlineBody("Subject: queued\r\n\r\nx\r\n") });
    await outcomes.waitFor("q-1", defers(1));
    // The state write lands just before the event is reported.
    let entries = await listQueue(h.bus);
    for (let i = 0; i < 50 && entries[0]?.state?.attempts !== 1; i++) entries = await listQueue(h.bus);
    expect(entries).toHaveLength(1);
    const lines = formatQueueEntry(entries[0]!, new Date());
    expect(lines[0]).toMatch(/^ +\d+s +\d+ q-1 <alice@sender\.test>$/);
    expect(lines[1]).toBe("          later@slow.test (deferred: SMTP error from remote mail server after RCPT TO:<later@slow.test>: 451 4.3.0 try later)");
    expect(formatDetails(entries[0]!)).toEqual(expect.arrayContaining(["id: q-1", "attempts: 1", "Subject: queued"]));

    expect(await actOnMessage(h.bus, "q-1", "retry")).toMatchObject({ found: true });
    await outcomes.waitFor("q-1", defers(2));

    expect(await actOnMessage(h.bus, "q-1", "bounce")).toMatchObject({ found: true });
    const events = await outcomes.waitFor("q-1", (ev) => ev.some((e) => e.name === "msg:complete"));
    expect(events.find((e) => e.name === "msg:fail:delivery")?.deferErrstr).toBe("delivery cancelled by administrator");
    const [dsn] = await bounces.waitForMessages(1, 20_000);
    expect(dsn?.mailFrom).toBe("");
    expect(dsn?.data.toString()).toContain("Final-Recipient: rfc822;later@slow.test");
    expect(await actOnMessage(h.bus, "nope", "retry")).toEqual({ found: false });
  }, 60_000);
});
