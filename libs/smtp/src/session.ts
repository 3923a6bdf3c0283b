/**
 * SmtpServerSession: the server side of one SMTP connection as a pull parser.
 * feed() buffers bytes, next() yields one event at a time, respond() answers
 * the events that need the adapter's decision, takeOutput() returns the
 * replies queued so far in protocol order (write them once per read: that is
 * PIPELINING, RFC 2920).
 *
 * SECURITY: all input is hostile. Command lines are capped (default 512 octets
 * with CRLF; AUTH lines 12288); a longer line is discarded up to its LF without
 * being buffered and answered with 500 5.5.2, so the session stays in sync.
 * NUL and other control characters and invalid UTF-8 are refused. Nothing is
 * parsed past a pending decision. DATA is decoded by DataDecoder (see data.ts
 * for the smuggling rules); BDAT chunks are counted exactly (bdat.ts).
 * Plaintext that follows STARTTLS is thrown away by tlsStarted()
 * (CVE-2011-0411). Exim's synchronisation check: see sync.ts.
 *
 * MEMORY: what the engine holds per connection, in every state:
 * - input fed and not yet consumed: the adapter feeds one read, then calls
 *   next() until null; only complete command lines are then left, and only
 *   while a decision is pending (the adapter must stop reading until it
 *   answers: the edge pauses the socket). An unterminated line is held up to
 *   maxCommandLine (or maxAuthLine for "AUTH ..." and AUTH exchange lines),
 *   then dropped;
 * - DATA and BDAT content: nothing; body events are views of the fed chunk;
 * - after STARTTLS is accepted: nothing; input is counted and dropped, with a
 *   201-octet sample for the log;
 * - output: the replies to commands already parsed, until takeOutput(); at
 *   most maxOutputBuffer octets (64 KiB) plus one reply: past that, next()
 *   parses nothing more until the output is taken (outputFull), so a burst
 *   of pipelined commands with long replies (HELP, EHLO) cannot make one
 *   read produce megabytes of replies.
 */
import { BdatBody } from "./bdat";
import { commandTable, isForbiddenVerb, notImplementedVerbs, type CommandSpec, type Outcome } from "./commands";
import { DataDecoder } from "./data";
import { SmtpStateError } from "./errors";
import { escapeBytes } from "./escape";
import { decodeCommandLine, TOO_LONG } from "./input";
import { checkPrdrReplies, formatPrdrResponse } from "./prdr";
import { isPositive, type Reply } from "./reply";
import { replies } from "./replies";
import { SessionContent, type Step } from "./session-content";
import { fits } from "./session-state";
import { type FeedOptions, ProtocolErrorKind, type SmtpEvent, type TlsStartResult, type Transaction } from "./types";

/** octets of discarded or early input kept for the log line */
const SAMPLE = 201;

export class SmtpServerSession extends SessionContent {
  private tlsDiscarded = 0;
  private tlsSample: Buffer[] = [];

  /** Queues the 220 banner. Input read before it (fed with endOfRead) is a synchronisation error. */
  greet(): void {
    if (this.isClosed || this.sync.greeted) return;
    this.sync.greet();
    this.push(replies.banner(this.options.hostname));
  }

  /**
   * Buffers input. With { endOfRead: true } the chunk ends one read from the
   * socket (pass every read so, and feed a whole read before calling next()),
   * which lets the engine apply the synchronisation check (sync.ts); input fed
   * without it is never judged. After STARTTLS was accepted, input is counted
   * and dropped until tlsStarted().
   */
  feed(chunk: Buffer, opts?: FeedOptions): void {
    if (this.isClosed) return;
    if (this.mode === "tls") this.discardPlaintext(chunk);
    else this.input.push(chunk);
    if (opts?.endOfRead !== true) return;
    const v = this.sync.readEnded(this.input.end + this.tlsDiscarded);
    if (v === null) return;
    if (this.awaitingType !== null) this.deferredViolation ??= { kind: v, sample: Buffer.from(chunk.subarray(0, SAMPLE)) };
    else this.queued.push(this.syncFailure(v, chunk.subarray(0, SAMPLE), this.sync.outMark));
  }

  /** The next event, or null when more input or an answer to a pending decision is needed. */
  next(): SmtpEvent | null {
    for (;;) {
      const q = this.queued.shift();
      if (q !== undefined) return q;
      if (this.isClosed) {
        this.input.clear(); // nothing more is parsed: let the last read go
        return null;
      }
      if (this.awaitingType !== null || this.outBytes >= this.options.maxOutputBuffer) return null;
      const ev = this.step();
      if (ev !== undefined) return ev;
    }
  }

  /** Answers the pending decision; the reply is queued for output. A no-op once the session is closed. */
  respond(reply: Reply): void {
    if (this.isClosed) return;
    const type = this.awaitingType;
    if (type === null) throw new SmtpStateError("respond() without a pending decision", null);
    if (!fits(type, reply)) throw new SmtpStateError(`reply ${reply.code} does not answer ${type}`, type);
    this.awaitingType = null;
    const pending = this.pendingCommand;
    this.pendingCommand = null;
    if (type === "mail" && isPositive(reply) && pending?.verb === "MAIL") {
      this.tx = { mail: pending, recipients: [], rcptAttempts: 0 };
    } else if (type === "rcpt" && this.tx !== null) {
      this.tx.rcptAttempts++;
      if (isPositive(reply) && pending?.verb === "RCPT") this.tx.recipients.push(pending);
    } else if (type === "data") {
      if (!this.answerData(reply)) return this.afterAnswer(false);
    } else if (type === "dataEnd" || type === "prdrEnd") {
      this.resetTransaction();
    } else if (type === "starttls" && reply.code === 220) {
      this.mode = "tls";
    } else if (type === "auth") {
      const c = this.pendingAuth;
      this.pendingAuth = null;
      if (reply.code === 235 && c !== null) this.identity = { mechanism: c.mechanism, username: c.username, authzid: c.authzid };
    }
    this.push(reply);
    this.afterAnswer(type === "dataEnd" || type === "prdrEnd");
    // a failed AUTH counts toward maxErrors (password guessing)
    if (type === "auth" && reply.code >= 500 && ++this.errors >= this.options.maxErrors && !this.isClosed) this.queued.push(this.tooManyErrors("AUTH"));
  }

  /**
   * Answers a pending "prdrEnd": one reply per accepted recipient (RCPT
   * order) and the final reply (see prdrFinalReply). The engine sends 353,
   * then these, in one write.
   */
  respondPrdr(recipientReplies: readonly Reply[], final: Reply): void {
    if (this.isClosed) return;
    if (this.awaitingType !== "prdrEnd" || this.tx === null) throw new SmtpStateError("respondPrdr() without a pending prdrEnd", this.awaitingType);
    const problem = checkPrdrReplies(this.tx.recipients.length, recipientReplies, final);
    if (problem !== null) throw new SmtpStateError(`respondPrdr(): ${problem}`, "prdrEnd");
    this.awaitingType = null;
    this.resetTransaction();
    const text = formatPrdrResponse(replies.prdrStart, recipientReplies, final);
    this.out.push(text);
    this.outBytes += text.length;
    this.afterAnswer(true);
  }

  /**
   * The TLS handshake after an accepted STARTTLS succeeded: the session starts
   * again as just connected over TLS (no HELO, no transaction, not
   * authenticated, no banner). Input buffered or fed since STARTTLS was
   * plaintext and is discarded; the result says how much, for the log.
   */
  tlsStarted(): TlsStartResult {
    if (this.mode !== "tls") throw new SmtpStateError("tlsStarted() without an accepted STARTTLS", this.awaitingType);
    const sample = Buffer.concat([this.input.peek(SAMPLE), ...this.tlsSample]).subarray(0, SAMPLE);
    const discardedBytes = this.input.clear(this.tlsDiscarded) + this.tlsDiscarded;
    this.tlsDiscarded = 0;
    this.tlsSample = [];
    this.mode = "command";
    this.tlsOn = true;
    this.heloCommand = null;
    this.identity = null;
    this.resetTransaction();
    this.sync.reset();
    return { discardedBytes, discarded: discardedBytes === 0 ? "" : escapeBytes(sample) };
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
    this.outBytes = 0;
    this.committed = 0;
    this.sync.taken(this.awaitingType !== null);
    return s;
  }

  private discardPlaintext(chunk: Buffer): void {
    const have = this.tlsSample.reduce((n, b) => n + b.length, 0);
    if (have < SAMPLE) this.tlsSample.push(Buffer.from(chunk.subarray(0, SAMPLE - have))); // a copy: keep no fed chunk alive
    this.tlsDiscarded += chunk.length;
  }

  /**
   * After an answer was queued: a reply that accepts or refuses a message is
   * never withdrawn (the adapter may have stored it); then a violation that
   * feed() saw meanwhile is applied.
   */
  private afterAnswer(commit: boolean): void {
    if (commit) this.committed = this.out.length;
    const v = this.deferredViolation;
    if (v !== null) this.queued.push(this.syncFailure(v.kind, v.sample, this.sync.outMark));
  }

  /** The "data" answer; false when nothing is to be queued (354 to BDAT: the chunk just flows). */
  private answerData(reply: Reply): boolean {
    const chunk = this.pendingChunk;
    this.pendingChunk = null;
    if (chunk === null) {
      if (reply.code === 354) {
        this.decoder = new DataDecoder(this.options.maxMessageSize, this.options.maxTextLine || 998);
        this.mode = "data";
      }
      return true;
    }
    if (reply.code === 354) {
      this.bdatBody = new BdatBody(this.options.maxMessageSize, this.options.maxTextLine || 998);
      this.startChunk(chunk.args, this.bdatBody, chunk.line);
      return false;
    }
    this.startChunk(chunk.args, null, chunk.line);
    return true;
  }

  private step(): Step {
    switch (this.mode) {
      case "command":
        return this.nextCommand();
      case "data":
        return this.nextData();
      case "chunk":
        return this.nextChunk();
      case "auth":
        return this.nextAuthLine();
      case "tls":
        return null;
    }
  }

  private lineLimit(head: Buffer): number {
    const auth = this.options.auth && head.length >= 5 && head.toString("latin1", 0, 5).toUpperCase() === "AUTH ";
    return auth ? Math.max(this.options.maxAuthLine, this.options.maxCommandLine) : this.options.maxCommandLine;
  }

  private nextCommand(): Step {
    const raw = this.input.line((head) => this.lineLimit(head));
    if (raw === null) return null;
    if (raw === TOO_LONG) return this.error(ProtocolErrorKind.lineTooLong, replies.lineTooLong, "(line too long)");
    return this.dispatch(raw);
  }

  private mustSync(spec: CommandSpec): boolean {
    return spec.sync === "always" || (spec.sync === "withoutPipelining" && !this.pipelining);
  }

  private dispatch(raw: Buffer): Step {
    const line = decodeCommandLine(raw);
    if (line === null) return this.error(ProtocolErrorKind.badBytes, replies.badBytes, escapeBytes(raw));
    const sp = line.indexOf(" ");
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const args = sp < 0 ? "" : line.slice(sp + 1).replace(/[ \t]+$/, "");
    // an AUTH initial response is a credential: never in events or logs
    const logLine = verb === "AUTH" ? escapeBytes(Buffer.from(line.split(" ", 2).join(" "))) : escapeBytes(raw);
    const spec = commandTable[verb];
    if (spec === undefined) {
      if (isForbiddenVerb(verb)) return this.error(ProtocolErrorKind.forbiddenCommand, replies.forbiddenCommand, logLine, true);
      if (notImplementedVerbs.has(verb)) return this.error(ProtocolErrorKind.notImplemented, replies.notImplemented, logLine);
      return this.error(ProtocolErrorKind.unknownCommand, replies.unknownCommand, logLine);
    }
    if (spec.available !== undefined && !spec.available(this.options, this.tlsOn)) {
      return this.error(ProtocolErrorKind.notImplemented, replies.notImplemented, logLine);
    }
    if (this.mustSync(spec)) {
      const failure = this.checkSync();
      if (failure !== null) return failure;
    }
    if (this.bdatBody !== null && !spec.afterBdat) return this.error(ProtocolErrorKind.sequence, replies.bdatOnly, logLine);
    if (this.options.requireTls && !this.tlsOn && !spec.beforeTls) return this.error(ProtocolErrorKind.tlsRequired, replies.tlsRequired, logLine);
    if (spec.requires === "helo" && this.heloCommand === null) return this.error(ProtocolErrorKind.sequence, replies.needHelo, logLine);
    if (spec.requires === "transaction" && this.tx === null) {
      return this.error(ProtocolErrorKind.sequence, this.heloCommand === null ? replies.needHelo : replies.needMail, logLine);
    }
    return this.apply(spec.handle(this.ctx, args), logLine);
  }

  private apply(o: Outcome, logLine: string): Step {
    switch (o.kind) {
      case "reply":
        this.push(o.reply);
        if (o.close === true) this.isClosed = true;
        return { type: "command", command: o.command, reply: o.reply };
      case "error":
        return this.error(o.error, o.reply, logLine, o.close === true);
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
        return { type: "data", transaction: this.tx as Transaction, via: "DATA" };
      case "bdat":
        if (o.refusal !== undefined || this.bdatBody !== null) {
          this.startChunk(o.args, o.refusal === undefined ? this.bdatBody : null, logLine, o.refusal);
          return undefined;
        }
        this.awaitingType = "data";
        this.pendingChunk = { args: o.args, line: logLine };
        return { type: "data", transaction: this.tx as Transaction, via: "BDAT" };
      case "starttls":
        this.awaitingType = "starttls";
        return { type: "starttls" };
      case "auth":
        return this.startAuth(o.mechanism, o.initial);
    }
  }
}
