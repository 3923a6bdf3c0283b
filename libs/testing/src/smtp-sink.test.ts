import { connect, type Socket } from "node:net";
import { type SinkMessage, SmtpSession, type SmtpSessionOptions } from "./smtp-session";
import { startSmtpSink, type SmtpSink } from "./smtp-sink";

/** A minimal client: send lines, read whole (multi-line) replies. */
class Client {
  private buffer = "";
  private wake: (() => void) | undefined;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.buffer += d;
      this.wake?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new Client(socket)));
      socket.once("error", reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** The next complete reply, lines joined with "\n". */
  async reply(): Promise<string> {
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        return m[0].trimEnd().replace(/\r\n/g, "\n");
      }
      if (this.closed) throw new Error(`connection closed; pending ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const code = (reply: string): string => reply.slice(0, 3);

describe("startSmtpSink (SMTP)", () => {
  let sink: SmtpSink;
  beforeEach(async () => {
    sink = await startSmtpSink({
      rcptReplies: { "defer@example.com": "451 4.3.0 try later", "Reject@Example.com": "550 5.1.1 no such user" },
    });
  });
  afterEach(async () => {
    await sink.stop();
  });

  it("records a message with dot-unstuffing, only for accepted recipients", async () => {
    expect(sink.host).toBe("127.0.0.1");
    const c = await Client.open(sink.port);
    expect(await c.reply()).toMatch(/^220 sink\.test ESMTP/);
    const ehlo = await c.command("EHLO client.example");
    expect(ehlo.split("\n")).toEqual(expect.arrayContaining(["250-PIPELINING", "250-8BITMIME", "250-SMTPUTF8"]) as string[]);
    expect(await c.command("MAIL FROM:<alice@example.org> SIZE=42 BODY=8BITMIME")).toMatch(/^250 2\.1\.0/);
    expect(await c.command("RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE")).toMatch(/^250 /);
    expect(await c.command("RCPT TO:<defer@example.com>")).toBe("451 4.3.0 try later");
    expect(await c.command("RCPT TO:<reject@EXAMPLE.com>")).toBe("550 5.1.1 no such user");
    expect(await c.command("DATA")).toMatch(/^354 /);
    c.write("Subject: hi\r\n\r\n..leading dot\r\n.\r\nnot the end\r\n.\r\n");
    expect(await c.reply()).toMatch(/^250 2\.0\.0 OK queued as sink-1$/);
    // What followed the end of DATA is read as commands.
    expect([await c.reply(), await c.reply()].map(code)).toEqual(["500", "500"]);
    expect(await c.command("QUIT")).toMatch(/^221 /);
    await c.waitClosed();

    const [message] = await sink.waitForMessages(1);
    expect(message).toEqual<SinkMessage>({
      mailFrom: "alice@example.org",
      rcptTo: ["bob@example.com"],
      data: Buffer.from("Subject: hi\r\n\r\n.leading dot\r\n"),
      helo: "client.example",
      mailParams: ["SIZE=42", "BODY=8BITMIME"],
      rcptParams: [["NOTIFY=SUCCESS,FAILURE"]],
    });
    expect(sink.messages).toHaveLength(1);
  });

  it("answers a pipelined group in order and keeps the session for a second message", async () => {
    const c = await Client.open(sink.port);
    await c.reply();
    c.write("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@x>\r\nRCPT TO:<defer@example.com>\r\nDATA\r\n");
    const replies = [await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply()];
    expect(replies.map(code)).toEqual(["250", "250", "250", "451", "354"]);
    c.write("one\r\n.\r\nRSET\r\nMAIL FROM:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\n");
    expect([await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply()].map(code)).toEqual(["250", "250", "250", "250", "354"]);
    c.write("two\r\n.\r\n");
    expect(code(await c.reply())).toBe("250");
    const messages = await sink.waitForMessages(2);
    expect(messages.map((m) => [m.mailFrom, m.rcptTo, m.data.toString()])).toEqual([
      ["", ["a@x"], "one\r\n"],
      ["b@x", ["c@x"], "two\r\n"],
    ]);
    c.destroy();
  });

  it("enforces command order", async () => {
    const c = await Client.open(sink.port);
    await c.reply();
    expect(code(await c.command("MAIL FROM:<a@x>"))).toBe("503");
    expect(code(await c.command("LHLO c"))).toBe("500");
    expect(code(await c.command("HELO c"))).toBe("250");
    expect(code(await c.command("RCPT TO:<a@x>"))).toBe("503");
    expect(code(await c.command("DATA"))).toBe("503");
    expect(code(await c.command("MAIL FROM:<a@x>"))).toBe("250");
    expect(code(await c.command("MAIL FROM:<a@x>"))).toBe("503");
    expect(code(await c.command("RCPT TO:<defer@example.com>"))).toBe("451");
    expect(code(await c.command("DATA"))).toBe("554");
    expect(code(await c.command("RCPT bob"))).toBe("501");
    expect(code(await c.command("NOOP"))).toBe("250");
    expect(code(await c.command("STARTTLS"))).toBe("502");
    expect(code(await c.command("XYZZY"))).toBe("500");
    expect(code(await c.command("RSET"))).toBe("250");
    expect(code(await c.command("RCPT TO:<a@x>"))).toBe("503");
    c.destroy();
    expect(sink.messages).toEqual([]);
  });

  it("times out waiting for messages that never come", async () => {
    await expect(sink.waitForMessages(1, 50)).rejects.toThrow(/0 of 1 messages after 50 ms/);
  });

  it("stop() closes open sessions and may be called twice", async () => {
    const c = await Client.open(sink.port);
    await c.reply();
    await sink.stop();
    await c.waitClosed();
    await sink.stop();
  });
});

describe("startSmtpSink (LMTP)", () => {
  it("answers once per accepted recipient after DATA", async () => {
    const sink = await startSmtpSink({
      lmtp: true,
      rcptReplies: { "no@x": "550 5.1.1 unknown" },
      dataReplies: { "full@x": "452 4.2.2 mailbox full" },
    });
    try {
      const c = await Client.open(sink.port);
      expect(await c.reply()).toMatch(/^220 .* LMTP/);
      expect(code(await c.command("EHLO c"))).toBe("500");
      expect(code(await c.command("LHLO c"))).toBe("250");
      expect(code(await c.command("MAIL FROM:<s@x>"))).toBe("250");
      for (const r of ["a@x", "no@x", "full@x", "b@x"]) await c.command(`RCPT TO:<${r}>`);
      expect(code(await c.command("DATA"))).toBe("354");
      c.write("hello\r\n.\r\n");
      const replies = [await c.reply(), await c.reply(), await c.reply()];
      expect(replies).toEqual([expect.stringMatching(/^250 .*<a@x>/), "452 4.2.2 mailbox full", expect.stringMatching(/^250 .*<b@x>/)]);
      expect(code(await c.command("QUIT"))).toBe("221");
      const [m] = await sink.waitForMessages(1);
      expect(m).toMatchObject({ mailFrom: "s@x", rcptTo: ["a@x", "b@x"], helo: "c" });
      expect(m?.data.toString()).toBe("hello\r\n");
    } finally {
      await sink.stop();
    }
  });

  it("refuses reply options that are not SMTP replies", async () => {
    await expect(startSmtpSink({ rcptReplies: { "a@x": "try later" } })).rejects.toThrow(/rcptReplies\[a@x\]/);
    await expect(startSmtpSink({ dataReply: "250 ok\r\n250 again" })).rejects.toThrow(/dataReply/);
  });
});

describe("SmtpSession", () => {
  const options: SmtpSessionOptions = {
    lmtp: false,
    hostname: "h",
    rcptReplies: new Map([["d@x", "451 4.3.0 later"]]),
    dataReply: undefined,
    dataReplies: new Map(),
    maxMessageBytes: 100,
  };

  function run(chunks: Buffer[], opts = options): { out: string; messages: SinkMessage[]; closed: boolean } {
    let out = "";
    const messages: SinkMessage[] = [];
    let closed = false;
    const s = new SmtpSession(
      opts,
      (t) => (out += t),
      (m) => messages.push(m),
      () => (closed = true),
    );
    s.greeting();
    for (const c of chunks) s.feed(c);
    return { out, messages, closed };
  }

  const session = Buffer.from(
    "EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<d@x>\r\nDATA\r\n" +
      "l1\r\n..l2\r\nbare\n.\nlf\r\n...\r\n.\r\n" +
      "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n" +
      `${"x".repeat(120)}\r\n.\r\nQUIT\r\n`,
  );

  it("gives the same result whatever the chunking", () => {
    const whole = run([session]);
    expect(whole.closed).toBe(true);
    expect(whole.messages).toHaveLength(1);
    // A bare LF does not end a line in DATA, so "\n.\n" is content, not the end.
    expect(whole.messages[0]?.data.toString()).toBe("l1\r\n.l2\r\nbare\n.\nlf\r\n..\r\n");
    expect(whole.out).toContain("552 5.3.4 message too big");

    const bytes = run([...session].map((b) => Buffer.of(b)));
    expect(bytes).toEqual(whole);
    for (let seed = 1; seed <= 20; seed++) {
      const chunks: Buffer[] = [];
      let at = 0;
      let x = seed;
      while (at < session.length) {
        x = (x * 1103515245 + 12345) % 2147483648;
        const n = 1 + (x % 17);
        chunks.push(session.subarray(at, at + n));
        at += n;
      }
      expect(run(chunks)).toEqual(whole);
    }
  });

  it("answers an over-long command line once and recovers", () => {
    const r = run([Buffer.from(`EHLO ${"a".repeat(5000)}`), Buffer.from("a".repeat(5000)), Buffer.from("\r\nNOOP\r\n")]);
    expect(r.out.split("\r\n").filter((l) => l !== "")).toEqual(["220 h ESMTP postern test sink", "500 5.5.6 line too long", "250 2.0.0 OK"]);
  });
});
