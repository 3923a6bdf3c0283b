import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openKv } from "@postern/bus";
import { type ServiceContext } from "@postern/service-kit";
import { startSmtpSink, type SmtpSink } from "@postern/testing";
import { type Config } from "./config";
import { freePort, hasComplete, inlineBody, OutcomesSink, rcpts, startHarness, type Harness } from "./test-harness";

jest.setTimeout(60_000);

describe("dane-outbound delivers from MAIL", () => {
  let h: Harness;
  let outcomes: OutcomesSink;
  let dir: string;
  let ctx: ServiceContext<Config>;
  const sinks: SmtpSink[] = [];

  beforeAll(async () => {
    h = await startHarness();
    outcomes = new OutcomesSink(await freePort());
    await outcomes.start();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "postern-maildir-"));
    const smtp = await startSmtpSink({ rcptReplies: { "no@smtp.test": "550 5.1.1 no such user" } });
    const lmtp = await startSmtpSink({ lmtp: true, dataReplies: { "full@lmtp.test": "552 5.2.2 mailbox full" } });
    sinks.push(smtp, lmtp);
    ctx = await h.start({
      routes: {
        "local.test": `maildir:${dir}/mail`,
        "smtp.test": `smtp:127.0.0.1:${smtp.port}`,
        "lmtp.test": `lmtp:127.0.0.1:${lmtp.port}`,
      },
      delivery_events: { address: outcomes.address },
      retry: { schedule_seconds: [1] },
      report_retry_seconds: 1,
    });
  });

  afterAll(async () => {
    await h?.close();
    await outcomes?.stop();
    for (const s of sinks) await s.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("delivers to a maildir with Return-Path and Delivered-To", async () => {
    await h.publish({ messageId: "m-maildir-1", recipients: rcpts("Bob@Local.Test"), body: inlineBody("Subject: hi\r\n\r\nhello maildir\r\n") });
    const events = await outcomes.waitFor("m-maildir-1", hasComplete);
    expect(events.map((e) => e.name)).toEqual(["msg:delivery", "msg:complete"]);
    const [delivery] = events;
    expect(delivery).toMatchObject({
      deliveryLocalPart: "Bob",
      deliveryDomain: "local.test",
      routerName: "route:local.test",
      transportName: "maildir",
      senderAddress: "alice@example.org",
    });
    const files = await fs.readdir(path.join(dir, "mail", "Bob", "new"));
    expect(files).toHaveLength(1);
    const file = path.join(dir, "mail", "Bob", "new", files[0] ?? "");
    expect(delivery?.deliveryConfirmation).toBe(file);
    const content = await fs.readFile(file, "utf8");
    expect(content).toBe("Return-Path: <alice@example.org>\r\nDelivered-To: Bob@Local.Test\r\nSubject: hi\r\n\r\nhello maildir\r\n");
    expect(await fs.readdir(path.join(dir, "mail", "Bob", "tmp"))).toEqual([]);
    const line = h.logs.find((l) => l.event === "delivery" && l.message_id === "m-maildir-1");
    expect(line?.msg).toBe(`m-maildir-1 => Bob@Local.Test R=route:local.test T=maildir C="${file}"`);
  });

  it("is ready, owns its consumer settings, counts deliveries and forgets the state of completed messages", async () => {
    const ready = await fetch(`http://127.0.0.1:${ctx.httpPort}/readyz`);
    expect(ready.status).toBe(200);
    const info = await h.bus.jsm.consumers.info("MAIL", "outbound");
    expect(info.config).toMatchObject({ ack_policy: "explicit", ack_wait: 600 * 1e9, max_ack_pending: 10000, filter_subject: "postern.v1.mail.queued" });
    const metrics = await (await fetch(`http://127.0.0.1:${ctx.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/postern_outbound_deliveries_total\{[^}]*outcome="delivered"[^}]*transport="maildir"[^}]*\} 1/);
    const kv = await openKv(h.bus, "delivery-state");
    for (let i = 0; i < 50 && (await kv.get("m-maildir-1"))?.operation === "PUT"; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await kv.get("m-maildir-1"))?.operation).not.toBe("PUT");
  });

  it("refuses local parts that would leave the maildir directory", async () => {
    await h.publish({ messageId: "m-maildir-evil", recipients: rcpts("../x@local.test", ".hidden@local.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-maildir-evil", hasComplete);
    const fails = events.filter((e) => e.name === "msg:fail:delivery");
    expect(fails).toHaveLength(2);
    expect(fails[0]?.deferErrstr).toMatch(/invalid local part/);
    await expect(fs.stat(path.join(dir, "x"))).rejects.toThrow();
    await expect(fs.stat(path.join(dir, "mail", ".hidden"))).rejects.toThrow();
  });

  it("delivers over SMTP; a 550 recipient fails, the others are delivered", async () => {
    const smtp = sinks[0] as SmtpSink;
    await h.publish({
      messageId: "m-smtp-1",
      recipients: rcpts("a@smtp.test", "no@smtp.test", "b@SMTP.test"),
      body: inlineBody("Subject: s\r\n\r\n.leading dot\r\nbody\r\n"),
    });
    const events = await outcomes.waitFor("m-smtp-1", hasComplete);
    const [msg] = await smtp.waitForMessages(1);
    expect(msg?.rcptTo).toEqual(["a@smtp.test", "b@SMTP.test"]);
    expect(msg?.mailFrom).toBe("alice@example.org");
    expect(msg?.helo).toBe("outbound.test");
    expect(msg?.mailParams).toContain(`SIZE=${Buffer.byteLength("Subject: s\r\n\r\n.leading dot\r\nbody\r\n")}`);
    expect(msg?.data.toString()).toBe("Subject: s\r\n\r\n.leading dot\r\nbody\r\n");
    const delivered = events.filter((e) => e.name === "msg:delivery");
    expect(delivered.map((e) => e.deliveryLocalPart)).toEqual(["a", "b"]);
    expect(delivered[0]).toMatchObject({ deliveryIp: "127.0.0.1", deliveryPort: smtp.port, deliveryFqdn: "127.0.0.1", transportName: "smtp", routerName: "route:smtp.test" });
    expect(delivered[0]?.deliveryConfirmation).toMatch(/^250 /);
    const [fail] = events.filter((e) => e.name === "msg:fail:delivery");
    expect(fail?.deliveryLocalPart).toBe("no");
    expect(fail?.deferErrstr).toBe("SMTP error from remote mail server after RCPT TO:<no@smtp.test>: 550 5.1.1 no such user");
    const failLine = h.logs.find((l) => l.event === "delivery.fail" && l.message_id === "m-smtp-1");
    expect(failLine?.msg).toBe(
      `m-smtp-1 ** no@smtp.test R=route:smtp.test T=smtp H=127.0.0.1 [127.0.0.1]:${smtp.port}: SMTP error from remote mail server after RCPT TO:<no@smtp.test>: 550 5.1.1 no such user`,
    );
    expect(h.logs.find((l) => l.event === "delivery" && l.message_id === "m-smtp-1")?.msg).toMatch(
      new RegExp(`^m-smtp-1 => a@smtp\\.test R=route:smtp\\.test T=smtp H=127\\.0\\.0\\.1 \\[127\\.0\\.0\\.1\\]:${smtp.port} C="250 `),
    );
  });

  it("delivers over LMTP with one reply per recipient", async () => {
    const lmtp = sinks[1] as SmtpSink;
    await h.publish({ messageId: "m-lmtp-1", recipients: rcpts("u1@lmtp.test", "full@lmtp.test", "u2@lmtp.test"), body: inlineBody("Subject: l\r\n\r\nlmtp\r\n") });
    const events = await outcomes.waitFor("m-lmtp-1", hasComplete);
    const [msg] = await lmtp.waitForMessages(1);
    expect(msg?.rcptTo).toEqual(["u1@lmtp.test", "u2@lmtp.test"]);
    expect(msg?.helo).toBe("outbound.test");
    expect(events.filter((e) => e.name === "msg:delivery").map((e) => e.deliveryLocalPart)).toEqual(["u1", "u2"]);
    expect(events.filter((e) => e.name === "msg:delivery").every((e) => e.transportName === "lmtp")).toBe(true);
    const [fail] = events.filter((e) => e.name === "msg:fail:delivery");
    expect(fail?.deferErrstr).toBe("SMTP error from remote mail server after end of data: 552 5.2.2 mailbox full");
  });

  it("fails unrouteable recipients and missing spool objects; terminates undecodable records", async () => {
    await h.publishRaw(Buffer.from([0xff, 0xff, 0xff, 0x01]));
    await h.publish({ messageId: "m-unrouteable", recipients: rcpts("x@nowhere.test"), body: inlineBody("x\r\n") });
    await h.publish({
      messageId: "m-no-spool",
      recipients: rcpts("y@local.test"),
      body: { location: { $case: "spoolObject", value: "no-such-object" }, size: "10", sha256: "" },
    });
    const unrouteable = await outcomes.waitFor("m-unrouteable", hasComplete);
    expect(unrouteable[0]).toMatchObject({ name: "msg:fail:delivery", deferErrstr: "Unrouteable address", deliveryDomain: "nowhere.test" });
    const noSpool = await outcomes.waitFor("m-no-spool", hasComplete);
    expect(noSpool[0]).toMatchObject({ name: "msg:fail:internal", deliveryLocalPart: "y" });
    expect(h.logs.some((l) => l.event === "mail.decode_failed")).toBe(true);
  });
});
