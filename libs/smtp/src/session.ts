/**
 * SmtpServerSession: the server side of one SMTP connection as a pull parser.
 * feed() buffers bytes, next() yields one event at a time, respond() answers
 * the events that need the adapter's decision, takeOutput() returns the
 * replies queued so far in protocol order (write them once per read: that is
 * PIPELINING, RFC 2920).
 *
 * SECURITY: all input is hostile. Command lines are capped (default 512 octets
 * with CRLF); a longer line is discarded up to its LF without being buffered and
 * answered with 500 5.5.2, so the session stays in sync. NUL and other control
 * characters and invalid UTF-8 are refused. Nothing is parsed past a pending
 * decision, so buffered input is bounded by what the adapter lets in. DATA is
 * decoded by DataDecoder (see data.ts for the smuggling rules).
 */
import { type CommandContext, commandTable, isForbiddenVerb, notImplementedVerbs, type Outcome } from "./commands";
import { DataDecoder } from "./data";
import { SmtpOptionsError, SmtpStateError } from "./errors";
import { escapeBytes } from "./escape";
import type { ParamContext } from "./params";
import { formatServerReply, isPositive, type Reply } from "./reply";
import { replies } from "./replies";
import {
  type HeloCommand,
  type PendingType,
  ProtocolErrorKind,
  type ResolvedOptions,
  type SessionOptions,
  type SmtpEvent,
  type Transaction,
} from "./types";

const EMPTY = Buffer.alloc(0);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Errors that do not count toward maxErrors: limits and policy, not misbehaviour. */
const uncounted: ReadonlySet<ProtocolErrorKind> = new Set([ProtocolErrorKind.tooManyRecipients, ProtocolErrorKind.sizeExceeded]);

export function resolveOptions(o: SessionOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    hostname: o.hostname,
    maxMessageSize: o.maxMessageSize,
    maxRecipients: o.maxRecipients ?? 100,
    maxCommandLine: o.maxCommandLine ?? 512,
    maxErrors: o.maxErrors ?? 20,
    vrfy: o.vrfy ?? "disabled",
    extensions: { pipelining: true, size: true, eightBitMime: true, smtputf8: true, enhancedStatusCodes: true, dsn: true, ...o.extensions },
  };
  if (!/^[\x21-\x7e]+$/.test(r.hostname)) throw new SmtpOptionsError("hostname", "must be printable ASCII without spaces");
  if (!(Number.isSafeInteger(r.maxMessageSize) && r.maxMessageSize > 0)) throw new SmtpOptionsError("maxMessageSize", "must be a positive integer");
  if (!(Number.isSafeInteger(r.maxRecipients) && r.maxRecipients > 0)) throw new SmtpOptionsError("maxRecipients", "must be a positive integer");
  if (!(Number.isSafeInteger(r.maxCommandLine) && r.maxCommandLine >= 512)) throw new SmtpOptionsError("maxCommandLine", "must be at least 512");
  if (!(Number.isSafeInteger(r.maxErrors) && r.maxErrors > 0)) throw new SmtpOptionsError("maxErrors", "must be a positive integer");
  return r;
}

interface TxState {
  mail: Transaction["mail"];
  recipients: Transaction["recipients"][number][];
  rcptAttempts: number;
}

export class SmtpServerSession {
  readonly options: ResolvedOptions;
  private buf: Buffer = EMPTY;
  private pos = 0;
  private discarding = false;
  private decoder: DataDecoder | null = null;
  private queued: SmtpEvent[] = [];
  private out: string[] = [];
  private awaitingType: PendingType | null = null;
  private pendingCommand: Extract<Outcome, { kind: "mail" | "rcpt" }>["command"] | null = null;
  private heloCommand: HeloCommand | null = null;
  private tx: TxState | null = null;
  private errors = 0;
  private isClosed = false;
  private readonly ctx: CommandContext;

  constructor(options: SessionOptions) {
    this.options = resolveOptions(options);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.ctx = {
      options: this.options,
      get helo() { return self.heloCommand; },
      get transaction() { return self.transaction; },
      paramContext: () => this.paramContext(),
      setHelo: (cmd) => { this.heloCommand = cmd; this.tx = null; },
      resetTransaction: () => { this.tx = null; },
    };
  }

  get helo(): HeloCommand | null { return this.heloCommand; }
  get transaction(): Transaction | null { return this.tx; }
  /** the event type waiting for respond(), if any */
  get awaiting(): PendingType | null { return this.awaitingType; }
  get closed(): boolean { return this.isClosed; }
  get inData(): boolean { return this.decoder !== null; }
  /** octets fed but not consumed yet */
  get bufferedBytes(): number { return this.buf.length - this.pos; }

  /** Queues the 220 banner. */
  greet(): void {
    this.push(replies.banner(this.options.hostname));
  }

  feed(chunk: Buffer): void {
    if (this.isClosed || chunk.length === 0) return;
    this.buf = this.pos >= this.buf.length ? chunk : Buffer.concat([this.buf.subarray(this.pos), chunk]);
    this.pos = 0;
  }

  /** The next event, or null when more input or a respond() is needed. */
  next(): SmtpEvent | null {
    const q = this.queued.shift();
    if (q !== undefined) return q;
    if (this.isClosed || this.awaitingType !== null) return null;
    return this.decoder !== null ? this.nextData(this.decoder) : this.nextCommand();
  }

  /** Answers the pending mail/rcpt/data/dataEnd event; the reply is queued for output. */
  respond(reply: Reply): void {
    const type = this.awaitingType;
    if (type === null) throw new SmtpStateError("respond() without a pending decision", null);
    const fits = type === "data" ? reply.code === 354 || reply.code >= 400 : reply.code < 300 || reply.code >= 400;
    if (!fits) throw new SmtpStateError(`reply ${reply.code} does not answer ${type}`, type);
    this.awaitingType = null;
    const pending = this.pendingCommand;
    this.pendingCommand = null;
    if (type === "mail" && isPositive(reply) && pending?.verb === "MAIL") {
      this.tx = { mail: pending, recipients: [], rcptAttempts: 0 };
    } else if (type === "rcpt" && this.tx !== null) {
      this.tx.rcptAttempts++;
      if (isPositive(reply) && pending?.verb === "RCPT") this.tx.recipients.push(pending);
    } else if (type === "data" && reply.code === 354) {
      this.decoder = new DataDecoder(this.options.maxMessageSize);
    } else if (type === "dataEnd") {
      this.tx = null;
    }
    this.push(reply);
  }

  /** Queues a final reply (421 timeout or shutdown) and closes the session. */
  abort(reply: Reply): void {
    if (this.isClosed) return;
    this.push(reply);
    this.isClosed = true;
  }

  /** The replies queued since the last call, formatted, in order. */
  takeOutput(): string {
    const s = this.out.join("");
    this.out = [];
    return s;
  }

  private push(reply: Reply): void {
    this.out.push(formatServerReply(reply));
  }

  private paramContext(): ParamContext {
    const e = this.options.extensions;
    const esmtp = this.heloCommand?.verb === "EHLO";
    return { esmtp, size: e.size, eightBitMime: e.eightBitMime, smtputf8: e.smtputf8, dsn: e.dsn };
  }

  private compact(): void {
    if (this.pos >= this.buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    }
  }

  private nextCommand(): SmtpEvent | null {
    const buf = this.buf;
    const start = this.pos;
    const lf = buf.indexOf(0x0a, start);
    if (lf < 0) {
      if (this.discarding || buf.length - start >= this.options.maxCommandLine) {
        this.discarding = true;
        this.buf = EMPTY;
        this.pos = 0;
      }
      return null;
    }
    this.pos = lf + 1;
    this.compact();
    if (this.discarding || lf + 1 - start > this.options.maxCommandLine) {
      this.discarding = false;
      return this.error(ProtocolErrorKind.lineTooLong, replies.lineTooLong, "(line too long)");
    }
    return this.dispatch(buf.subarray(start, lf > start && buf[lf - 1] === 0x0d ? lf - 1 : lf));
  }

  private decodeLine(raw: Buffer): string | null {
    let high = false;
    for (const b of raw) {
      if ((b < 0x20 && b !== 0x09) || b === 0x7f) return null;
      if (b > 0x7f) high = true;
    }
    if (!high) return raw.toString("latin1");
    try {
      return utf8.decode(raw);
    } catch {
      return null;
    }
  }

  private dispatch(raw: Buffer): SmtpEvent | null {
    const line = this.decodeLine(raw);
    const logLine = escapeBytes(raw);
    if (line === null) return this.error(ProtocolErrorKind.badBytes, replies.badBytes, logLine);
    const sp = line.indexOf(" ");
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const args = sp < 0 ? "" : line.slice(sp + 1).replace(/[ \t]+$/, "");
    const spec = commandTable[verb];
    if (spec === undefined) {
      if (isForbiddenVerb(verb)) return this.error(ProtocolErrorKind.forbiddenCommand, replies.forbiddenCommand, logLine, true);
      if (notImplementedVerbs.has(verb)) return this.error(ProtocolErrorKind.notImplemented, replies.notImplemented, logLine);
      return this.error(ProtocolErrorKind.unknownCommand, replies.unknownCommand, logLine);
    }
    if (spec.requires === "helo" && this.heloCommand === null) {
      return this.error(ProtocolErrorKind.sequence, replies.needHelo, logLine);
    }
    if (spec.requires === "transaction" && this.tx === null) {
      return this.error(ProtocolErrorKind.sequence, this.heloCommand === null ? replies.needHelo : replies.needMail, logLine);
    }
    return this.apply(spec.handle(this.ctx, args), logLine);
  }

  private apply(o: Outcome, logLine: string): SmtpEvent | null {
    switch (o.kind) {
      case "reply":
        this.push(o.reply);
        if (o.close === true) this.isClosed = true;
        return { type: "command", command: o.command, reply: o.reply };
      case "error":
        return this.error(o.error, o.reply, logLine);
      case "mail":
        this.awaitingType = "mail";
        this.pendingCommand = o.command;
        return { type: "mail", command: o.command };
      case "rcpt":
        this.awaitingType = "rcpt";
        this.pendingCommand = o.command;
        return { type: "rcpt", command: o.command, transaction: this.tx as Transaction };
      case "data":
        this.awaitingType = "data";
        return { type: "data", transaction: this.tx as Transaction };
    }
  }

  private error(kind: ProtocolErrorKind, reply: Reply, line: string, close = false): SmtpEvent {
    if (!uncounted.has(kind) && ++this.errors >= this.options.maxErrors && !close) {
      this.push(replies.tooManyErrors);
      this.isClosed = true;
      return { type: "error", kind: ProtocolErrorKind.tooManyErrors, reply: replies.tooManyErrors, line, close: true };
    }
    this.push(reply);
    if (close) this.isClosed = true;
    return { type: "error", kind, reply, line, close };
  }

  private nextData(decoder: DataDecoder): SmtpEvent | null {
    if (this.pos >= this.buf.length) return null;
    const r = decoder.write(this.buf, this.pos);
    this.pos = r.end;
    this.compact();
    const body: SmtpEvent | null =
      r.chunks.length === 0 ? null : { type: "body", chunk: r.chunks.length === 1 ? (r.chunks[0] as Buffer) : Buffer.concat(r.chunks) };
    if (!r.done) return body; // not done: the whole buffer was consumed
    this.decoder = null;
    const info = decoder.info();
    const transaction = this.tx as Transaction;
    let end: SmtpEvent;
    if (info.sizeExceeded || info.bareCr || info.bareLf) {
      const reply = info.sizeExceeded ? replies.sizeExceeded : replies.bareNewline;
      this.tx = null;
      this.push(reply);
      end = { type: "dataRejected", transaction, info, reason: info.sizeExceeded ? "size" : "bare_newline", reply };
    } else {
      this.awaitingType = "dataEnd";
      end = { type: "dataEnd", transaction, info };
    }
    if (body === null) return end;
    this.queued.push(end);
    return body;
  }
}
