import { freePort, startSmtpSink, type SmtpSink } from "@postern/testing";
import { DsnRet } from "@postern/proto";
import { hasComplete, inlineBody, OutcomesSink, rcpts, startHarness, type Harness } from "./test-harness";
import { esmtp, startDnsZone, startScripted, type DnsZoneServer, type ScriptedServer } from "./test-servers";

/**
 * Route `mx` end to end: a loopback DNS zone, scripted SMTP servers on 127.0.0.N:P (one
 * port, several loopback addresses, like MX hosts on port 25), the real service on a real
 * nats-server, outcomes collected over gRPC, bounces delivered to an smtp-sink.
 */
describe("dane-outbound route mx against scripted servers", () => {
  let h: Harness;
  let outcomes: OutcomesSink;
  let zone: DnsZoneServer;
  let sink: SmtpSink;
  let port: number;
  let mx3: ScriptedServer;
  let prdr: ScriptedServer;
  const servers: ScriptedServer[] = [];

  beforeAll(async () => {
    h = await startHarness();
    outcomes = new OutcomesSink(await freePort());
    await outcomes.start();
    sink = await startSmtpSink();
    port = await freePort();
    mx3 = await startScripted({
      host: "127.0.0.3",
      port,
      greeting: "220 mx3.a.test ESMTP ready",
      script: esmtp("mx3.a.test", (l) => {
        if (l.startsWith("RCPT TO:<defer@")) return "451 4.3.0 try later";
        if (l.startsWith("RCPT TO:<reject@")) return "550 5.1.1 <reject@a.test>: no such user";
        return undefined;
      }),
    });
    servers.push(mx3);
    servers.push(await startScripted({ host: "127.0.0.4", port, greeting: "220 mx4 ESMTP", script: esmtp("mx4"), dropMidData: true }));
    servers.push(await startScripted({ host: "127.0.0.5", port, greeting: "220 mx5 ESMTP", script: (l) => ({ reply: esmtp("mx5")(l) as string, delayMs: 300 }) }));
    servers.push(
      await startScripted({ host: "127.0.0.6", port, greeting: "220 mx6 ESMTP", script: esmtp("mx6", (l) => (l === "<END-OF-DATA>" ? { reply: "250 too late", delayMs: 5000 } : undefined)) }),
    );
    servers.push(await startScripted({ host: "::1", port, greeting: "220 mx7 ESMTP", script: esmtp("mx7") }));
    prdr = await startScripted({
      host: "127.0.0.8",
      port,
      greeting: "220 mx8 ESMTP",
      script: esmtp("mx8", (l) => {
        if (l.startsWith("EHLO")) return "250-mx8\r\n250-PIPELINING\r\n250 PRDR";
        if (l === "<END-OF-DATA>") return "353 PRDR content analysis beginning\r\n250 2.1.5 ok for one\r\n550 5.7.1 content refused for two\r\n250 2.0.0 done";
        return undefined;
      }),
    });
    servers.push(prdr);
    zone = await startDnsZone({
      "a.test": { MX: [{ preference: 20, exchange: "mx3.a.test" }, { preference: 10, exchange: "mx2.a.test" }] },
      "mx2.a.test": { A: ["127.0.0.2"] },
      "mx3.a.test": { A: ["127.0.0.3"] },
      "null.test": { MX: [{ preference: 0, exchange: "." }] },
      "implicit.test": { A: ["127.0.0.3"] },
      "broken.test": { servfail: true },
      "drop.test": { MX: [{ preference: 10, exchange: "mx4.drop.test" }] },
      "mx4.drop.test": { A: ["127.0.0.4"] },
      "slow.test": { A: ["127.0.0.5"] },
      "tooslow.test": { A: ["127.0.0.6"] },
      "v6.test": { MX: [{ preference: 5, exchange: "mx7.v6.test" }] },
      "mx7.v6.test": { AAAA: ["::1"] },
      "prdr.test": { A: ["127.0.0.8"] },
    });
    await h.start({
      routes: { "*": "mx", "sender.test": `smtp:127.0.0.1:${sink.port}` },
      dns: { servers: [zone.label], timeout_ms: 1000, attempts: 1 },
      smtp_port: port,
      connect_timeout_ms: 2000,
      command_timeout_ms: 1500,
      host_down_seconds: 0,
      retry: { schedule_seconds: [3600] },
      delivery_events: { address: outcomes.address, deadline_ms: 2000 },
    });
  }, 60_000);

  afterAll(async () => {
    await h.close();
    for (const s of servers) await s.close();
    await sink.stop();
    await zone.close();
    await outcomes.stop();
  });

  const names = (events: Array<{ name: string }>): string[] => events.map((e) => e.name);
  const line = (messageId: string, marker: string): string | undefined => h.logs.find((l) => l.message_id === messageId && l.msg.startsWith(`${messageId} ${marker} `))?.msg;
  const settled = (n: number) => (events: Array<{ name: string }>) => events.filter((e) => /^msg:(delivery|rcpt:defer|fail:)/.test(e.name)).length >= n;

  it("tries the MX hosts in preference order and delivers to the second when the first refuses", async () => {
    await h.publish({ messageId: "m-mx", sender: "alice@sender.test", recipients: rcpts("ok@a.test"), body: inlineBody("Subject: t\r\n\r\nhi\r\n") });
    const events = await outcomes.waitFor("m-mx", hasComplete);
    expect(names(events)).toEqual(["msg:host:defer", "msg:rcpt:host:defer", "msg:delivery", "msg:complete"]);
    expect(events[0]).toMatchObject({ deliveryIp: "127.0.0.2", deliveryPort: port, deliveryFqdn: "mx2.a.test", deferErrstr: "Connection refused" });
    expect(events[2]).toMatchObject({ deliveryIp: "127.0.0.3", deliveryFqdn: "mx3.a.test", deliveryConfirmation: "250 OK id=mx3.a.test-1", routerName: "route:*", transportName: "smtp" });
    expect(line("m-mx", "=>")).toBe(`m-mx => ok@a.test R=route:* T=smtp H=mx3.a.test [127.0.0.3]:${port} C="250 OK id=mx3.a.test-1"`);
  });

  it("defers a 451 and fails a 550 recipient, and bounces the failure with DSN_INFO fields", async () => {
    await h.publish({
      messageId: "m-rej",
      sender: "alice@sender.test",
      dsnEnvid: "ENV-1",
      dsnRet: DsnRet.DSN_RET_HDRS,
      recipients: [
        { address: "defer@a.test", index: 0, notify: [], orcpt: "" },
        { address: "reject@a.test", index: 1, notify: ["FAILURE"], orcpt: "rfc822;orig@a.test" },
      ],
      body: inlineBody("Subject: bounce me\r\nMessage-ID: <orig@sender.test>\r\n\r\nbody text\r\n"),
    });
    const events = await outcomes.waitFor("m-rej", settled(2));
    const rcptDefer = events.find((e) => e.name === "msg:rcpt:defer");
    const fail = events.find((e) => e.name === "msg:fail:delivery");
    expect(rcptDefer).toMatchObject({ deliveryLocalPart: "defer", deferErrno: -44, deferErrstr: "SMTP error from remote mail server after RCPT TO:<defer@a.test>: 451 4.3.0 try later" });
    expect(fail).toMatchObject({ deliveryLocalPart: "reject", deliveryIp: "127.0.0.3", deferErrstr: "SMTP error from remote mail server after RCPT TO:<reject@a.test>: 550 5.1.1 <reject@a.test>: no such user" });
    expect(line("m-rej", "==")).toBe(
      `m-rej == defer@a.test R=route:* T=smtp H=mx3.a.test [127.0.0.3]:${port} defer (-44): SMTP error from remote mail server after RCPT TO:<defer@a.test>: 451 4.3.0 try later`,
    );
    expect(line("m-rej", "**")).toBe(
      `m-rej ** reject@a.test R=route:* T=smtp H=mx3.a.test [127.0.0.3]:${port}: SMTP error from remote mail server after RCPT TO:<reject@a.test>: 550 5.1.1 <reject@a.test>: no such user`,
    );

    const [dsn] = await sink.waitForMessages(1, 20_000);
    expect(dsn).toMatchObject({ mailFrom: "", rcptTo: ["alice@sender.test"] });
    const text = dsn?.data.toString("utf8") ?? "";
    expect(text).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status;/m);
    for (const want of [
      "Reporting-MTA: dns; outbound.test",
      "Original-Envelope-Id: ENV-1",
      "Original-Recipient: rfc822;orig@a.test",
      "Final-Recipient: rfc822;reject@a.test",
      "Action: failed",
      "Status: 5.1.1",
      "Remote-MTA: dns; mx3.a.test",
      `Remote-MTA: X-ip; [127.0.0.3]:${port}`,
      "X-Remote-MTA-smtp-greeting: X-str; 220 mx3.a.test ESMTP ready",
      "X-Remote-MTA-helo-response: X-str; 250-mx3.a.test Hello there",
      "Diagnostic-Code: smtp; 550 5.1.1 <reject@a.test>: no such user",
      "X-Exim-Diagnostic: X-str; SMTP error from remote mail server after RCPT\r\n TO:<reject@a.test>: 550 5.1.1 <reject@a.test>: no such user",
      "Content-Type: text/rfc822-headers",
      "Subject: bounce me",
    ]) {
      expect(text).toContain(want);
    }
    expect(text).not.toContain("defer@a.test\r\n    SMTP");
    expect(text).not.toContain("body text");
    expect(h.logs.find((l) => l.event === "mail.bounced" && l.message_id === "m-rej")?.msg).toBe("m-rej-B1 <= <> R=m-rej");
    const bounceEvents = await outcomes.waitFor("m-rej-B1", hasComplete);
    expect(names(bounceEvents)).toEqual(["msg:delivery", "msg:complete"]);
  });

  it("never bounces a message from the null sender", async () => {
    await h.publish({ messageId: "m-null", sender: "", recipients: rcpts("reject@a.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-null", hasComplete);
    expect(names(events)).toContain("msg:fail:delivery");
    expect(h.logs.some((l) => l.event === "mail.bounced" && l.message_id === "m-null")).toBe(false);
  });

  it("fails a domain with a null MX at once and bounces it", async () => {
    const before = sink.messages.length;
    await h.publish({ messageId: "m-nullmx", sender: "alice@sender.test", recipients: rcpts("x@null.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-nullmx", hasComplete);
    expect(names(events)).toEqual(["msg:fail:delivery", "msg:complete"]);
    expect(events[0]?.deferErrstr).toBe("domain null.test does not accept mail (null MX, RFC 7505)");
    expect(line("m-nullmx", "**")).toBe("m-nullmx ** x@null.test R=route:* T=smtp: domain null.test does not accept mail (null MX, RFC 7505)");
    const all = await sink.waitForMessages(before + 1, 20_000);
    expect(all[before]?.data.toString()).toContain("Final-Recipient: rfc822;x@null.test");
  });

  it("uses the domain itself when it has no MX (implicit MX)", async () => {
    await h.publish({ messageId: "m-implicit", recipients: rcpts("x@implicit.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-implicit", hasComplete);
    expect(events[0]).toMatchObject({ name: "msg:delivery", deliveryIp: "127.0.0.3", deliveryFqdn: "implicit.test" });
  });

  it("defers with dns:fail when the MX lookup fails", async () => {
    await h.publish({ messageId: "m-dns", recipients: rcpts("x@broken.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-dns", settled(1));
    expect(names(events)).toEqual(["dns:fail", "msg:rcpt:defer"]);
    expect(events[1]).toMatchObject({ deferErrno: -100, deferErrstr: "DNS lookup failed: MX lookup of broken.test: servfail" });
    expect(line("m-dns", "==")).toBe("m-dns == x@broken.test R=route:* T=smtp defer (-100): DNS lookup failed: MX lookup of broken.test: servfail");
  });

  it("defers when the server drops the connection in the middle of DATA", async () => {
    await h.publish({ messageId: "m-drop", recipients: rcpts("x@drop.test"), body: inlineBody(`Subject: big\r\n\r\n${"y".repeat(200_000)}\r\n`) });
    const events = await outcomes.waitFor("m-drop", settled(1));
    expect(names(events)).toEqual(["msg:host:defer", "msg:rcpt:host:defer", "msg:rcpt:defer"]);
    // Closed (-18) or reset (ECONNRESET) depending on whether the kernel saw our data first.
    expect(events[2]).toMatchObject({ deliveryIp: "127.0.0.4" });
    expect(events[2]?.deferErrstr).toMatch(/closed the connection|connection error/);
    expect(line("m-drop", "==")).toMatch(new RegExp(`^m-drop == x@drop.test R=route:\\* T=smtp H=mx4.drop.test \\[127.0.0.4\\]:${port} defer \\(-?\\d+\\): `));
  });

  it("waits for a slow server within command_timeout_ms", async () => {
    await h.publish({ messageId: "m-slow", recipients: rcpts("x@slow.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-slow", hasComplete);
    expect(events[0]).toMatchObject({ name: "msg:delivery", deliveryIp: "127.0.0.5", deliveryConfirmation: "250 OK id=mx5-1" });
  });

  it("defers with a time-out when the server answers too slowly", async () => {
    await h.publish({ messageId: "m-tooslow", recipients: rcpts("x@tooslow.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-tooslow", settled(1));
    expect(events.at(-1)).toMatchObject({ name: "msg:rcpt:defer", deferErrno: 110, deferErrstr: "SMTP timeout after end of data" });
    expect(line("m-tooslow", "==")).toBe(`m-tooslow == x@tooslow.test R=route:* T=smtp H=tooslow.test [127.0.0.6]:${port} defer (110): SMTP timeout after end of data`);
  });

  it("delivers over IPv6 to an MX with only an AAAA record", async () => {
    await h.publish({ messageId: "m-v6", recipients: rcpts("x@v6.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-v6", hasComplete);
    expect(events[0]).toMatchObject({ name: "msg:delivery", deliveryIp: "::1", deliveryFqdn: "mx7.v6.test" });
  });

  it("reuses a session for the next message to the same host", async () => {
    await h.publish({ messageId: "m-reuse1", recipients: rcpts("r1@implicit.test"), body: inlineBody("x\r\n") });
    await outcomes.waitFor("m-reuse1", hasComplete);
    const opened = mx3.connections;
    await h.publish({ messageId: "m-reuse2", recipients: rcpts("r2@implicit.test"), body: inlineBody("x\r\n") });
    await outcomes.waitFor("m-reuse2", hasComplete);
    expect(mx3.connections).toBe(opened);
  });

  it("speaks PRDR as a client and maps the per-recipient replies", async () => {
    await h.publish({ messageId: "m-prdr", recipients: rcpts("one@prdr.test", "two@prdr.test"), body: inlineBody("x\r\n") });
    const events = await outcomes.waitFor("m-prdr", hasComplete);
    expect(prdr.seen).toContain("MAIL FROM:<alice@example.org> PRDR");
    expect(events.find((e) => e.name === "msg:delivery")).toMatchObject({ deliveryLocalPart: "one", deliveryConfirmation: "250 2.1.5 ok for one" });
    expect(events.find((e) => e.name === "msg:fail:delivery")).toMatchObject({
      deliveryLocalPart: "two",
      deferErrstr: "SMTP error from remote mail server after PRDR reply for <two@prdr.test>: 550 5.7.1 content refused for two",
    });
  });
});
