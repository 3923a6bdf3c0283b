/**
 * The state of one SMTP session and the helpers every part of the engine
 * uses: output queue, error counting, closing, the synchronisation failure.
 * SmtpServerSession (session.ts) is the public face; this file and
 * session-content.ts are its inner layers.
 */
import { type SaslCredentials, type SaslExchange } from "./auth";
import { type BdatArgs, type BdatBody } from "./bdat";
import { authOffered, type CommandContext } from "./commands";
import { type DataDecoder, type DataInfo } from "./data";
import { escapeBytes } from "./escape";
import { InputBuffer } from "./input";
import { resolveOptions } from "./options";
import { type ParamContext } from "./params";
import { formatServerReply, type Reply } from "./reply";
import { replies } from "./replies";
import { SyncGuard, type SyncViolation } from "./sync";
import {
  type AuthIdentity,
  type ContentVia,
  type HeloCommand,
  type MailCommand,
  type PendingType,
  ProtocolErrorKind,
  type RcptCommand,
  type ResolvedOptions,
  type SessionOptions,
  type SmtpEvent,
  type Transaction,
} from "./types";

/** Errors that do not count toward maxErrors: limits and policy, not misbehaviour. */
const uncounted: ReadonlySet<ProtocolErrorKind> = new Set([ProtocolErrorKind.tooManyRecipients, ProtocolErrorKind.sizeExceeded]);

/** Whether `r` may answer a pending decision of this type. */
export function fits(type: PendingType, r: Reply): boolean {
  const refusal = r.code >= 400 && r.code < 600;
  if (type === "data") return r.code === 354 || refusal;
  if (type === "starttls") return r.code === 220 || refusal;
  if (type === "auth") return r.code === 235 || refusal;
  return (r.code >= 200 && r.code < 300) || refusal;
}

export interface TxState {
  mail: MailCommand;
  recipients: RcptCommand[];
  rcptAttempts: number;
}

/** What the input is read as: command lines, DATA, a BDAT chunk, AUTH responses, or nothing (TLS handshake). */
export type Mode = "command" | "data" | "chunk" | "auth" | "tls";

/** A BDAT chunk being consumed: stored in `body`, or thrown away (body null). */
export interface Chunk {
  remaining: number;
  readonly args: BdatArgs;
  readonly body: BdatBody | null;
  /** the engine refuses this BDAT: this error is answered once the chunk is consumed */
  readonly refusal?: { readonly error: ProtocolErrorKind; readonly reply: Reply };
  readonly line: string;
}

export abstract class SessionState {
  readonly options: ResolvedOptions;
  protected readonly input = new InputBuffer();
  protected readonly sync: SyncGuard;
  protected readonly ctx: CommandContext;
  protected mode: Mode = "command";
  protected decoder: DataDecoder | null = null;
  protected chunk: Chunk | null = null;
  /** the BDAT message being received (from the first chunk to LAST) */
  protected bdatBody: BdatBody | null = null;
  protected sasl: SaslExchange | null = null;
  protected queued: SmtpEvent[] = [];
  protected out: string[] = [];
  /** octets queued in `out` (see outputFull) */
  protected outBytes = 0;
  /** output entries that answer adapter decisions: never withdrawn by a synchronisation failure */
  protected committed = 0;
  protected awaitingType: PendingType | null = null;
  protected pendingCommand: MailCommand | RcptCommand | null = null;
  /** the first BDAT of a transaction, waiting for the "data" decision */
  protected pendingChunk: { args: BdatArgs; line: string } | null = null;
  protected pendingAuth: SaslCredentials | null = null;
  /** a violation seen by feed() while a decision was pending: applied after respond() */
  protected deferredViolation: { kind: SyncViolation; sample: Buffer } | null = null;
  protected heloCommand: HeloCommand | null = null;
  protected tx: TxState | null = null;
  protected errors = 0;
  protected isClosed = false;
  protected tlsOn: boolean;
  protected identity: AuthIdentity | null = null;

  constructor(options: SessionOptions) {
    this.options = resolveOptions(options);
    this.sync = new SyncGuard(this.options.syncCheck);
    this.tlsOn = this.options.tlsActive;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.ctx = {
      options: this.options,
      get helo() { return self.heloCommand; },
      get transaction() { return self.tx; },
      get tls() { return self.tlsOn; },
      get mustStartTls() { return self.options.requireTls && !self.tlsOn; },
      get authenticated() { return self.identity !== null; },
      get bdatActive() { return self.bdatBody !== null; },
      paramContext: () => this.paramContext(),
      setHelo: (cmd) => { this.heloCommand = cmd; this.resetTransaction(); },
      resetTransaction: () => this.resetTransaction(),
    };
  }

  get helo(): HeloCommand | null { return this.heloCommand; }
  get transaction(): Transaction | null { return this.tx; }
  /** the event type waiting for respond() (or respondPrdr()), if any */
  get awaiting(): PendingType | null { return this.awaitingType; }
  get closed(): boolean { return this.isClosed; }
  /** message content is being read (DATA, or a BDAT chunk) */
  get inData(): boolean { return this.mode === "data" || this.mode === "chunk"; }
  /** octets fed but not consumed yet */
  get bufferedBytes(): number { return this.input.buffered; }
  /**
   * next() stopped parsing because maxOutputBuffer octets of replies are
   * queued: take the output (write it, wait for the socket to drain), then
   * call next() again before reading more.
   */
  get outputFull(): boolean { return this.outBytes >= this.options.maxOutputBuffer && !this.isClosed; }
  /** TLS is active (tlsActive option, or after tlsStarted()) */
  get tls(): boolean { return this.tlsOn; }
  /** STARTTLS was answered 220: write the output, start the TLS handshake, then call tlsStarted() */
  get tlsPending(): boolean { return this.mode === "tls" && !this.isClosed; }
  get authenticated(): boolean { return this.identity !== null; }
  /** who authenticated, null before a successful AUTH */
  get authIdentity(): AuthIdentity | null { return this.identity; }
  /** PIPELINING is in use: advertised in the reply to this session's EHLO */
  get pipelining(): boolean { return this.options.extensions.pipelining && this.heloCommand?.verb === "EHLO"; }

  protected resetTransaction(): void {
    this.tx = null;
    this.bdatBody = null;
  }

  protected push(reply: Reply): void {
    const s = formatServerReply(reply);
    this.out.push(s);
    this.outBytes += s.length;
  }

  protected paramContext(): ParamContext {
    const e = this.options.extensions;
    const esmtp = this.heloCommand?.verb === "EHLO";
    return {
      esmtp,
      size: e.size,
      eightBitMime: e.eightBitMime,
      smtputf8: e.smtputf8,
      dsn: e.dsn,
      binaryMime: e.chunking && e.binaryMime,
      prdr: this.options.prdr,
      auth: esmtp && authOffered(this.options, this.tlsOn),
      authenticated: this.identity !== null,
    };
  }

  /** Queues the reply for an engine refusal and counts it; 421 and close at maxErrors. */
  protected error(kind: ProtocolErrorKind, reply: Reply, line: string, close = false): SmtpEvent {
    if (!uncounted.has(kind) && ++this.errors >= this.options.maxErrors && !close) return this.tooManyErrors(line);
    this.push(reply);
    if (close) this.isClosed = true;
    return { type: "error", kind, reply, line, close };
  }

  protected tooManyErrors(line: string): SmtpEvent {
    this.push(replies.tooManyErrors);
    this.isClosed = true;
    return { type: "error", kind: ProtocolErrorKind.tooManyErrors, reply: replies.tooManyErrors, line, close: true };
  }

  /**
   * 554 and close. Replies queued after `outMark` (not yet sent, and not
   * answering an adapter decision) are withdrawn: the client sent too soon to
   * have seen them.
   */
  protected syncFailure(v: SyncViolation, sample: Buffer, outMark = this.out.length): SmtpEvent {
    const keep = Math.max(Math.min(outMark, this.out.length), this.committed);
    this.out.length = keep;
    this.outBytes = this.out.reduce((n, s) => n + s.length, 0);
    this.push(replies.syncError);
    this.isClosed = true;
    this.deferredViolation = null;
    const kind = v === "greeting" ? ProtocolErrorKind.syncGreeting : ProtocolErrorKind.syncPipelining;
    return { type: "error", kind, reply: replies.syncError, line: escapeBytes(sample), close: true };
  }

  /** A sync point just consumed (input offset now past it): the failure event, or null. */
  protected checkSync(): SmtpEvent | null {
    return this.sync.point(this.input.offset, this.out.length) ? this.syncFailure("pipelining", this.input.peek(201)) : null;
  }

  /** The end of the message content: the dataEnd or prdrEnd decision. */
  protected contentEnd(info: DataInfo, via: ContentVia): SmtpEvent {
    const transaction = this.tx as Transaction;
    this.bdatBody = null;
    if (transaction.mail.params.prdr === true && transaction.recipients.length > 1) {
      this.awaitingType = "prdrEnd";
      return { type: "prdrEnd", transaction, info, via };
    }
    this.awaitingType = "dataEnd";
    return { type: "dataEnd", transaction, info, via };
  }
}
