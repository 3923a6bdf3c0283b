import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DeliverPolicy } from "@nats-io/jetstream";
import { codecs, streamNames, subjects } from "@postern/bus";
import { type Event } from "@postern/proto";
import { type Backend, startNats } from "@postern/testing";
import { idOf, MailReader, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

describe("edge: PRDR and the per-recipient data policy", () => {
  let nats: Backend;
  let edge: TestEdge;
  let off: TestEdge;
  let reader: MailReader;

  beforeAll(async () => {
    nats = await startNats();
    const policy = { prdr_reject_recipients: ["Closed@localhost"], prdr_defer_recipients: ["moving@localhost"] };
    edge = await startTestEdge(nats, policy);
    off = await startTestEdge(nats, { ...policy, prdr_enable: false });
    reader = await MailReader.open(nats);
  });

  afterAll(async () => {
    await reader?.close();
    await Promise.all([edge, off].map((e) => e?.stop()));
    await nats?.stop();
  });

  /** The events of one message and name in stream EVENTS, in order (waits for `count`). */
  async function eventsFor(messageId: string, name: string, count: number): Promise<Event[]> {
    const consumer = await reader.bus.js.consumers.get(streamNames.events, { filter_subjects: subjects.event(name), deliver_policy: DeliverPolicy.All });
    const found: Event[] = [];
    while (found.length < count) {
      const m = await consumer.next({ expires: 3000 });
      if (m === null) throw new Error(`only ${found.length}/${count} ${name} events for ${messageId}`);
      const e = codecs.event.decode(m.data);
      if (e.messageId === messageId) found.push(e);
    }
    return found;
  }

  /** One pipelined transaction; returns every reply after EHLO's. */
  async function transaction(port: number, to: string[], opts: { prdr?: boolean; bdat?: boolean } = {}): Promise<string[]> {
    const c = await SmtpTestClient.open(port);
    try {
      await c.greet();
      const body = "Subject: prdr\r\n\r\nhello\r\n";
      const rcpts = to.map((t) => `RCPT TO:<${t}>\r\n`).join("");
      const mail = `MAIL FROM:<a@example.org>${opts.prdr === false ? "" : " PRDR"}\r\n${rcpts}`;
      if (opts.bdat === true) {
        c.send(`${mail}BDAT ${Buffer.byteLength(body)} LAST\r\n${body}`);
        return await c.read(1 + to.length + (to.length > 1 && opts.prdr !== false ? to.length + 2 : 1));
      }
      c.send(`${mail}DATA\r\n`);
      const head = await c.read(2 + to.length);
      if (!head.at(-1)?.startsWith("354")) return head;
      c.send(`${body}.\r\n`);
      return [...head, ...(await c.read(to.length > 1 && opts.prdr !== false ? to.length + 2 : 1))];
    } finally {
      c.close();
    }
  }

  it("advertises PRDR unless prdr_enable is false", async () => {
    for (const [e, want] of [[edge, true], [off, false]] as const) {
      const c = await SmtpTestClient.open(e.port);
      const [, ehlo] = await c.greet();
      expect(ehlo?.includes("250-PRDR\r\n") ?? false).toBe(want);
      c.close();
    }
  });

  it("answers 353, one reply per recipient and the final reply; the record holds only the accepted recipients", async () => {
    const got = await transaction(edge.port, ["u1@localhost", "closed@localhost", "moving@localhost", "u2@localhost", "u3@localhost"]);
    expect(got.slice(0, 7).map((r) => r.slice(0, 3))).toEqual(["250", "250", "250", "250", "250", "250", "354"]);
    expect(got.slice(7, 13)).toEqual([
      "353 PRDR content analysis beginning\r\n",
      "250 2.1.5 PRDR R=<u1@localhost> acceptance\r\n",
      "550 5.7.1 PRDR R=<closed@localhost> refusal\r\n",
      "450 4.7.1 PRDR R=<moving@localhost> temporary refusal\r\n",
      "250 2.1.5 PRDR R=<u2@localhost> acceptance\r\n",
      "250 2.1.5 PRDR R=<u3@localhost> acceptance\r\n",
    ]);
    expect(got[13]).toMatch(/^250 2\.0\.0 OK id=\S+ message accepted for some recipients\r\n$/);
    const r = await reader.record(idOf(got[13]));
    expect(r.recipients.map((x) => x.address)).toEqual(["u1@localhost", "u2@localhost", "u3@localhost"]);
    expect(edge.logs.lines.filter((l) => l.event === "prdr.recipient" && l.message_id === r.messageId).map((l) => [l.recipient, l.verdict])).toEqual([
      ["closed@localhost", "reject"],
      ["moving@localhost", "defer"],
    ]);
    // and each refusal is an event for subscribers
    const refused = await eventsFor(r.messageId, "msg:rcpt:refused", 2);
    expect(refused.map((e) => [e.attributes.recipient, e.attributes.verdict, e.attributes.prdr])).toEqual([
      ["closed@localhost", "reject", "true"],
      ["moving@localhost", "defer", "true"],
    ]);
  });

  it("stores nothing when no recipient is accepted (final 450 when one was deferred)", async () => {
    const got = await transaction(edge.port, ["closed@localhost", "moving@localhost"]);
    expect(got.slice(-4).map((r) => r.slice(0, 9))).toEqual(["353 PRDR ", "550 5.7.1", "450 4.7.1", "450 4.0.0"]);
    expect(edge.logs.lines.some((l) => l.event === "msg.received" && (l.recipients as string[]).includes("closed@localhost"))).toBe(false);
  });

  it("gives a single PRDR recipient a normal single reply (as Exim)", async () => {
    expect((await transaction(edge.port, ["closed@localhost"])).at(-1)).toMatch(/^550 5\.7\.1 /);
    expect((await transaction(edge.port, ["moving@localhost"])).at(-1)).toMatch(/^451 4\.7\.1 /);
    expect((await transaction(edge.port, ["u1@localhost"])).at(-1)).toMatch(/^250 2\.0\.0 OK id=/);
  });

  it("works with BDAT", async () => {
    const got = await transaction(edge.port, ["u1@localhost", "closed@localhost"], { bdat: true });
    expect(got.slice(-4).map((r) => r.slice(0, 9))).toEqual(["353 PRDR ", "250 2.1.5", "550 5.7.1", "250 2.0.0"]);
    const r = await reader.record(idOf(got.at(-1)));
    expect(r.recipients.map((x) => x.address)).toEqual(["u1@localhost"]);
  });

  it("without PRDR, gives the same verdicts at RCPT time", async () => {
    for (const port of [edge.port, off.port]) {
      const got = await transaction(port, ["u1@localhost", "closed@localhost", "moving@localhost"], { prdr: false });
      expect(got.map((r) => r.slice(0, 9))).toEqual(["250 2.1.0", "250 2.1.5", "550 5.7.1", "450 4.7.1", "354 End d", "250 2.0.0"]);
      const r = await reader.record(idOf(got.at(-1)));
      expect(r.recipients.map((x) => x.address)).toEqual(["u1@localhost"]);
    }
  });

  it("shows the 353 sequence to swaks --prdr", async () => {
    const { stdout } = await promisify(execFile)(
      "swaks",
      ["--server", `127.0.0.1:${edge.port}`, "--from", "a@example.org", "--to", "u1@localhost,closed@localhost,u2@localhost", "--prdr"],
      { timeout: 20_000 },
    );
    expect(stdout).toMatch(/<- {2}353 PRDR content analysis beginning/);
    expect(stdout).toMatch(/<\*\* 550 5\.7\.1 PRDR R=<closed@localhost> refusal|550 5\.7\.1 PRDR R=<closed@localhost> refusal/);
    expect(stdout).toMatch(/250 2\.0\.0 OK id=\S+ message accepted for some recipients/);
  });
});
