/**
 * The protocol half of the SMTP/LMTP sink: bytes in, replies and finished messages out,
 * no sockets. Enough ESMTP for a client under test: EHLO/HELO (LHLO in LMTP mode), MAIL,
 * RCPT, DATA with dot-unstuffing, RSET, NOOP, VRFY, HELP, QUIT; PIPELINING is honoured
 * because commands are answered strictly in order.
 */

export interface SinkMessage {
  /** Envelope sender without <>; "" for the null reverse-path. */
  mailFrom: string;
  /** Recipients whose RCPT got a 2xx reply (in LMTP mode: that also got a 2xx reply after DATA). */
  rcptTo: string[];
  /** The content after dot-unstuffing, with its CRLF line ends, without the final ".". */
  data: Buffer;
  /** Argument of EHLO/HELO/LHLO. */
  helo: string;
  /** MAIL parameters as sent ("SIZE=123", "BODY=8BITMIME"). */
  mailParams: string[];
  /** RCPT parameters per entry of rcptTo ("NOTIFY=SUCCESS,FAILURE"). */
  rcptParams: string[][];
}

export interface SmtpSessionOptions {
  lmtp: boolean;
  hostname: string;
  /** Lower-cased address -> full reply line for its RCPT, e.g. "451 4.3.0 try later". */
  rcptReplies: Map<string, string>;
  /** SMTP: the reply after DATA (default 250). LMTP: the default per-recipient reply after DATA. */
  dataReply: string | undefined;
  /** LMTP: lower-cased address -> its reply after DATA, e.g. "452 4.2.2 mailbox full". */
  dataReplies: Map<string, string>;
  maxMessageBytes: number;
}

const MAX_COMMAND_LINE = 4096;
const CRLF = Buffer.from("\r\n");

/** Throws unless `reply` starts with a 2xx-5xx code and is one line. */
export function checkReply(reply: string, what: string): string {
  if (!/^[2-5]\d\d(?: |$)/.test(reply) || /[\r\n]/.test(reply)) {
    throw new Error(`${what}: ${JSON.stringify(reply)} is not a one-line SMTP reply such as "451 4.3.0 try later"`);
  }
  return reply;
}

const isPositive = (reply: string): boolean => reply.startsWith("2");

interface Recipient {
  address: string;
  params: string[];
}

export class SmtpSession {
  private buffer: Buffer = Buffer.alloc(0);
  private inData = false;
  private discardingLongLine = false;
  private helo: string | undefined;
  private mailFrom: string | undefined;
  private mailParams: string[] = [];
  private recipients: Recipient[] = [];
  private dataChunks: Buffer[] = [];
  private dataBytes = 0;
  private closed = false;
  private queued = 0;

  constructor(
    private readonly opts: SmtpSessionOptions,
    private readonly write: (text: string) => void,
    private readonly onMessage: (message: SinkMessage) => void,
    private readonly close: () => void,
  ) {}

  greeting(): void {
    this.write(`220 ${this.opts.hostname} ${this.opts.lmtp ? "LMTP" : "ESMTP"} postern test sink\r\n`);
  }

  /** Feed bytes as they arrive, in chunks of any size. */
  feed(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (!this.closed) {
      if (this.inData) {
        const end = this.buffer.indexOf(CRLF);
        if (end < 0) return;
        const line = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + 2);
        this.dataLine(line);
      } else {
        const end = this.buffer.indexOf(0x0a);
        if (end < 0) {
          if (this.buffer.length > MAX_COMMAND_LINE) {
            this.buffer = Buffer.alloc(0);
            if (!this.discardingLongLine) this.reply("500 5.5.6 line too long");
            this.discardingLongLine = true;
          }
          return;
        }
        const raw = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + 1);
        if (this.discardingLongLine) {
          this.discardingLongLine = false;
          continue;
        }
        const text = raw.toString("utf8");
        this.command(text.endsWith("\r") ? text.slice(0, -1) : text);
      }
    }
  }

  private reply(line: string): void {
    this.write(`${line}\r\n`);
  }

  private reset(): void {
    this.mailFrom = undefined;
    this.mailParams = [];
    this.recipients = [];
    this.dataChunks = [];
    this.dataBytes = 0;
  }

  private command(line: string): void {
    const space = line.indexOf(" ");
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const arg = space < 0 ? "" : line.slice(space + 1).trim();
    const hello = this.opts.lmtp ? "LHLO" : "EHLO";
    switch (verb) {
      case "EHLO":
      case "HELO":
      case "LHLO":
        return this.hello(verb, arg);
      case "MAIL":
        if (this.helo === undefined) return this.reply(`503 5.5.1 send ${hello} first`);
        return this.mail(arg);
      case "RCPT":
        return this.rcpt(arg);
      case "DATA":
        return this.data(arg);
      case "RSET":
        this.reset();
        return this.reply("250 2.0.0 OK");
      case "NOOP":
        return this.reply("250 2.0.0 OK");
      case "VRFY":
        return this.reply("252 2.5.0 cannot verify, but will accept the message");
      case "HELP":
        return this.reply(`214 2.0.0 ${hello} MAIL RCPT DATA RSET NOOP VRFY HELP QUIT`);
      case "QUIT":
        this.reply("221 2.0.0 bye");
        this.closed = true;
        return this.close();
      case "STARTTLS":
      case "BDAT":
      case "AUTH":
        return this.reply(`502 5.5.1 ${verb} not implemented`);
      default:
        return this.reply("500 5.5.2 command not recognized");
    }
  }

  private hello(verb: string, arg: string): void {
    if ((verb === "LHLO") !== this.opts.lmtp) {
      return this.reply(`500 5.5.1 ${verb} is not spoken here; this is ${this.opts.lmtp ? "LMTP (use LHLO)" : "SMTP (use EHLO or HELO)"}`);
    }
    if (arg === "") return this.reply(`501 5.5.4 syntax: ${verb} hostname`);
    this.reset();
    this.helo = arg;
    if (verb === "HELO") return this.reply(`250 ${this.opts.hostname}`);
    const lines = [
      `${this.opts.hostname} greets ${arg}`,
      "PIPELINING",
      "8BITMIME",
      "SMTPUTF8",
      "ENHANCEDSTATUSCODES",
      "DSN",
      `SIZE ${this.opts.maxMessageBytes}`,
    ];
    this.write(lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}\r\n`).join(""));
  }

  private mail(arg: string): void {
    const m = /^FROM:\s*<([^<>]*)>(.*)$/i.exec(arg);
    if (!m) return this.reply("501 5.5.4 syntax: MAIL FROM:<address> [parameters]");
    if (this.mailFrom !== undefined) return this.reply("503 5.5.1 nested MAIL command");
    this.mailFrom = m[1] ?? "";
    this.mailParams = splitParams(m[2] as string);
    this.reply("250 2.1.0 sender OK");
  }

  private rcpt(arg: string): void {
    if (this.mailFrom === undefined) return this.reply("503 5.5.1 need MAIL first");
    const m = /^TO:\s*<([^<>]+)>(.*)$/i.exec(arg);
    if (!m) return this.reply("501 5.5.4 syntax: RCPT TO:<address> [parameters]");
    const address = m[1] as string;
    const reply = this.opts.rcptReplies.get(address.toLowerCase()) ?? "250 2.1.5 recipient OK";
    if (isPositive(reply)) this.recipients.push({ address, params: splitParams(m[2] as string) });
    this.reply(reply);
  }

  private data(arg: string): void {
    if (arg !== "") return this.reply("501 5.5.4 syntax: DATA");
    if (this.mailFrom === undefined) return this.reply("503 5.5.1 need MAIL first");
    if (this.recipients.length === 0) return this.reply("554 5.5.1 no valid recipients");
    this.inData = true;
    this.reply("354 end data with <CR><LF>.<CR><LF>");
  }

  private dataLine(line: Buffer): void {
    if (line.length === 1 && line[0] === 0x2e) return this.endData();
    const content = line[0] === 0x2e ? line.subarray(1) : line;
    this.dataBytes += content.length + 2;
    if (this.dataBytes <= this.opts.maxMessageBytes) this.dataChunks.push(Buffer.from(content), CRLF);
  }

  private endData(): void {
    this.inData = false;
    const tooBig = this.dataBytes > this.opts.maxMessageBytes;
    const data = Buffer.concat(this.dataChunks);
    const base = { mailFrom: this.mailFrom ?? "", data, helo: this.helo ?? "", mailParams: this.mailParams };
    const id = `sink-${++this.queued}`;
    if (this.opts.lmtp) {
      const accepted: Recipient[] = [];
      for (const r of this.recipients) {
        const reply = tooBig
          ? "552 5.3.4 message too big"
          : (this.opts.dataReplies.get(r.address.toLowerCase()) ?? this.opts.dataReply ?? `250 2.0.0 <${r.address}> delivered as ${id}`);
        if (isPositive(reply)) accepted.push(r);
        this.reply(reply);
      }
      if (accepted.length > 0) this.onMessage({ ...base, rcptTo: accepted.map((r) => r.address), rcptParams: accepted.map((r) => r.params) });
    } else {
      const reply = tooBig ? "552 5.3.4 message too big" : (this.opts.dataReply ?? `250 2.0.0 OK queued as ${id}`);
      if (isPositive(reply)) {
        this.onMessage({ ...base, rcptTo: this.recipients.map((r) => r.address), rcptParams: this.recipients.map((r) => r.params) });
      }
      this.reply(reply);
    }
    this.reset();
  }
}

function splitParams(rest: string): string[] {
  return rest.split(" ").filter((p) => p !== "");
}
