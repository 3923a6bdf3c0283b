import { SmtpOptionsError, SmtpStateError } from "./errors";
import { replies } from "./replies";
import { SmtpServerSession } from "./session";
import { type SmtpEvent } from "./types";

const opts = { hostname: "mx.test", maxMessageSize: 1000 };

function feedLine(s: SmtpServerSession, line: string): SmtpEvent | null {
  s.feed(Buffer.from(`${line}\r\n`));
  return s.next();
}

describe("SmtpServerSession API", () => {
  test("banner and EHLO reply list only what is implemented", () => {
    const s = new SmtpServerSession(opts);
    s.greet();
    expect(s.takeOutput()).toBe("220 mx.test ESMTP Postern\r\n");
    const ev = feedLine(s, "EHLO client.example");
    expect(ev).toMatchObject({ type: "command", command: { verb: "EHLO", domain: "client.example" } });
    expect(s.takeOutput()).toBe(
      "250-mx.test\r\n250-CHUNKING\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n",
    );
    expect(s.helo).toEqual({ verb: "EHLO", domain: "client.example" });
  });

  test("extensions can be switched off", () => {
    const s = new SmtpServerSession({ ...opts, extensions: { dsn: false, smtputf8: false } });
    feedLine(s, "EHLO x");
    expect(s.takeOutput()).not.toMatch(/DSN|SMTPUTF8/);
  });

  test("HELO answers with one line", () => {
    const s = new SmtpServerSession(opts);
    feedLine(s, "HELO x");
    expect(s.takeOutput()).toBe("250 mx.test\r\n");
  });

  test("MAIL and RCPT events carry parsed arguments", () => {
    const s = new SmtpServerSession(opts);
    feedLine(s, "EHLO x");
    const mail = feedLine(s, "MAIL FROM:<> SIZE=10 BODY=8BITMIME RET=FULL ENVID=abc+2B");
    expect(mail).toEqual({
      type: "mail",
      command: { verb: "MAIL", sender: null, params: { size: 10, body: "8BITMIME", ret: "FULL", envid: "abc+", smtputf8: false } },
    });
    expect(s.awaiting).toBe("mail");
    s.respond(replies.senderOk);
    const rcpt = feedLine(s, "RCPT TO:<u@Example.ORG> NOTIFY=FAILURE ORCPT=rfc822;u@example.org");
    expect(rcpt).toMatchObject({
      type: "rcpt",
      command: { recipient: { address: "u@Example.ORG", domain: "Example.ORG" }, params: { notify: ["FAILURE"], orcpt: "rfc822;u@example.org" } },
    });
    s.respond(replies.recipientOk);
    expect(s.transaction?.recipients).toHaveLength(1);
    expect(s.transaction?.rcptAttempts).toBe(1);
  });

  test("nothing is parsed past a pending decision", () => {
    const s = new SmtpServerSession(opts);
    s.feed(Buffer.from("EHLO x\r\nMAIL FROM:<a@b>\r\nNOOP\r\n"));
    expect(s.next()?.type).toBe("command");
    expect(s.next()?.type).toBe("mail");
    expect(s.next()).toBeNull();
    expect(s.bufferedBytes).toBe(6);
    s.respond(replies.senderOk);
    expect(s.next()).toMatchObject({ type: "command", command: { verb: "NOOP" } });
  });

  test("a refused MAIL starts no transaction", () => {
    const s = new SmtpServerSession(opts);
    feedLine(s, "EHLO x");
    feedLine(s, "MAIL FROM:<a@b>");
    s.respond(replies.tempLookupFailure);
    expect(s.transaction).toBeNull();
  });

  test("respond() misuse throws SmtpStateError", () => {
    const s = new SmtpServerSession(opts);
    expect(() => s.respond(replies.ok)).toThrow(SmtpStateError);
    feedLine(s, "EHLO x");
    feedLine(s, "MAIL FROM:<a@b>");
    s.respond(replies.senderOk);
    feedLine(s, "RCPT TO:<c@d>");
    s.respond(replies.recipientOk);
    expect(feedLine(s, "DATA")?.type).toBe("data");
    expect(() => s.respond(replies.ok)).toThrow(SmtpStateError);
    expect(() => s.respond(replies.startData)).not.toThrow();
    expect(s.inData).toBe(true);
  });

  test("DATA may be refused with a 4xx or 5xx reply", () => {
    const s = new SmtpServerSession(opts);
    feedLine(s, "EHLO x");
    feedLine(s, "MAIL FROM:<a@b>");
    expect(() => s.respond(replies.startData)).toThrow(SmtpStateError);
    s.respond(replies.senderOk);
    feedLine(s, "RCPT TO:<c@d>");
    s.respond(replies.recipientOk);
    feedLine(s, "DATA");
    s.respond(replies.localError);
    expect(s.inData).toBe(false);
    expect(feedLine(s, "DATA")?.type).toBe("data");
    s.respond(replies.startData);
    expect(s.inData).toBe(true);
  });

  test("dataEnd reports line length and size", () => {
    const s = new SmtpServerSession({ ...opts, maxMessageSize: 2000 });
    s.feed(Buffer.from(`EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n${"x".repeat(999)}\r\n.\r\n`));
    const events: SmtpEvent[] = [];
    for (let ev = s.next(); ev; ev = s.next()) {
      events.push(ev);
      if (ev.type === "mail") s.respond(replies.senderOk);
      if (ev.type === "rcpt") s.respond(replies.recipientOk);
      if (ev.type === "data") s.respond(replies.startData);
    }
    const end = events.at(-1);
    expect(end).toMatchObject({ type: "dataEnd", info: { size: 1001, longLines: true, bareLf: false } });
    expect(s.awaiting).toBe("dataEnd");
  });

  test("a 10 MB line is never buffered and the session stays in sync", () => {
    const s = new SmtpServerSession(opts);
    const chunk = Buffer.alloc(65536, 0x41);
    let maxBuffered = 0;
    for (let i = 0; i < 160; i++) {
      s.feed(chunk);
      expect(s.next()).toBeNull();
      maxBuffered = Math.max(maxBuffered, s.bufferedBytes);
    }
    expect(maxBuffered).toBeLessThanOrEqual(65536 + 512);
    s.feed(Buffer.from("AAAA\r\nNOOP\r\n"));
    expect(s.next()).toMatchObject({ type: "error", kind: "line_too_long", close: false });
    expect(s.next()).toMatchObject({ type: "command", command: { verb: "NOOP" } });
    expect(s.takeOutput()).toBe("500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
  });

  test("error events carry the line escaped for logs", () => {
    const s = new SmtpServerSession(opts);
    s.feed(Buffer.from("XYZ \u0001\\\r\n", "latin1"));
    expect(s.next()).toMatchObject({ type: "error", kind: "bad_bytes", line: "XYZ \\x01\\x5c" });
  });

  test("abort() queues the reply and closes", () => {
    const s = new SmtpServerSession(opts);
    s.abort(replies.timeout("mx.test"));
    expect(s.closed).toBe(true);
    expect(s.takeOutput()).toBe("421 4.4.2 mx.test timeout\r\n");
    s.feed(Buffer.from("NOOP\r\n"));
    expect(s.next()).toBeNull();
  });

  test.each([
    [{ hostname: "bad name" }, "hostname"],
    [{ maxMessageSize: 0 }, "maxMessageSize"],
    [{ maxCommandLine: 100 }, "maxCommandLine"],
    [{ maxRecipients: 0 }, "maxRecipients"],
  ])("invalid options %p throw SmtpOptionsError", (o, option) => {
    expect(() => new SmtpServerSession({ ...opts, ...o })).toThrow(expect.objectContaining({ name: "SmtpOptionsError", option }) as Error);
    expect(() => new SmtpServerSession({ ...opts, ...o })).toThrow(SmtpOptionsError);
  });
});
