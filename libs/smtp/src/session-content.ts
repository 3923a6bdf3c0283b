/**
 * The session's non-command input: DATA (data.ts decodes it), BDAT chunks
 * (length-counted, bdat.ts) and the lines of an AUTH exchange (auth.ts).
 *
 * SECURITY: DATA and BDAT content is never buffered: each fed chunk becomes
 * "body" events (views of the fed bytes) or is counted and dropped past the
 * size limit. A refused BDAT still has its announced octets consumed. AUTH
 * lines are capped at maxAuthLine and never appear in events or logs.
 */
import { SaslExchange, type SaslStep } from "./auth";
import { type BdatArgs, type BdatBody } from "./bdat";
import { type DataInfo } from "./data";
import { TOO_LONG } from "./input";
import { replies } from "./replies";
import { type Chunk, SessionState } from "./session-state";
import { type AuthMechanism, type ContentVia, type MessageRejectReason, ProtocolErrorKind, type SmtpEvent, type Transaction } from "./types";

/** What a step of input processing produced: an event, null (more input needed) or undefined (progress, no event). */
export type Step = SmtpEvent | null | undefined;

export abstract class SessionContent extends SessionState {
  protected startChunk(args: BdatArgs, body: BdatBody | null, line: string, refusal?: Chunk["refusal"]): void {
    this.chunk = refusal === undefined ? { remaining: args.size, args, body, line } : { remaining: args.size, args, body, line, refusal };
    this.mode = "chunk";
  }

  protected nextData(): Step {
    const decoder = this.decoder;
    const { buffer, start } = this.input.view();
    if (decoder === null || start >= buffer.length) return null;
    const r = decoder.write(buffer, start);
    this.input.consumeTo(r.end);
    const body: SmtpEvent | null =
      r.chunks.length === 0 ? null : { type: "body", chunk: r.chunks.length === 1 ? (r.chunks[0] as Buffer) : Buffer.concat(r.chunks) };
    if (!r.done) return body; // not done: the whole buffer was consumed
    this.decoder = null;
    this.mode = "command";
    return this.withBody(body, this.dataEnd(decoder.info()));
  }

  private dataEnd(info: DataInfo): Step {
    if (!this.pipelining) {
      const failure = this.checkSync();
      if (failure !== null) return failure;
    }
    if (info.sizeExceeded) return this.reject(info, "size", "DATA");
    if (info.bareCr || info.bareLf) return this.reject(info, "bare_newline", "DATA");
    if (this.tooLongLines(info)) return this.reject(info, "line_length", "DATA");
    return this.contentEnd(info, "DATA");
  }

  protected nextChunk(): Step {
    const c = this.chunk;
    if (c === null) return null;
    let body: SmtpEvent | null = null;
    if (c.remaining > 0) {
      const bytes = this.input.take(c.remaining);
      if (bytes.length === 0) return null;
      c.remaining -= bytes.length;
      const kept = c.body?.write(bytes) ?? null;
      if (kept !== null) body = { type: "body", chunk: kept };
      if (c.remaining > 0) return body; // the whole buffer was consumed
    }
    this.chunk = null;
    this.mode = "command";
    return this.withBody(body, this.chunkEnd(c));
  }

  private chunkEnd(c: Chunk): Step {
    if (!this.pipelining) {
      const failure = this.checkSync();
      if (failure !== null) return failure;
    }
    if (c.refusal !== undefined) return this.error(c.refusal.error, c.refusal.reply, c.line);
    if (c.body === null) return undefined; // refused by the adapter's "data" answer, already replied to
    if (c.body.exceeded) return this.reject(c.body.info(), "size", "BDAT");
    if (c.args.last) {
      const info = c.body.info();
      return this.tooLongLines(info) ? this.reject(info, "line_length", "BDAT") : this.contentEnd(info, "BDAT");
    }
    const reply = replies.chunkReceived(c.args.size);
    this.push(reply);
    return { type: "command", command: { verb: "BDAT", size: c.args.size, last: false }, reply };
  }

  /** maxTextLine is set and a line of this (non-BINARYMIME) message is longer. */
  private tooLongLines(info: DataInfo): boolean {
    return this.options.maxTextLine > 0 && info.longLines && this.tx?.mail.params.body !== "BINARYMIME";
  }

  /** The engine refuses the message at its end (size, bare CR/LF, line length); the transaction is over. */
  private reject(info: DataInfo, reason: MessageRejectReason, via: ContentVia): SmtpEvent {
    const reply = reason === "size" ? replies.sizeExceeded : reason === "line_length" ? replies.textLineTooLong : replies.bareNewline;
    const transaction = this.tx as Transaction;
    this.resetTransaction();
    this.push(reply);
    return { type: "dataRejected", transaction, info, reason, reply, via };
  }

  /** A body event goes first; the end (if any) follows it from the queue. */
  private withBody(body: SmtpEvent | null, end: Step): Step {
    if (body === null) return end;
    if (end !== null && end !== undefined) this.queued.push(end);
    return body;
  }

  protected startAuth(mechanism: AuthMechanism, initial: string | undefined): Step {
    const { exchange, step } = SaslExchange.start(mechanism, initial);
    return this.saslStep(exchange, step, mechanism);
  }

  protected nextAuthLine(): Step {
    const raw = this.input.line(() => this.options.maxAuthLine);
    if (raw === null) return null;
    const sasl = this.sasl;
    this.sasl = null;
    this.mode = "command";
    if (sasl === null) return undefined;
    const line = `AUTH ${sasl.mechanism} (exchange)`;
    if (raw === TOO_LONG) return this.error(ProtocolErrorKind.lineTooLong, replies.authLineTooLong, line);
    return this.saslStep(sasl, sasl.respond(raw.toString("latin1").trim()), sasl.mechanism);
  }

  private saslStep(exchange: SaslExchange | null, step: SaslStep, mechanism: AuthMechanism): Step {
    switch (step.kind) {
      case "challenge":
        this.sasl = exchange;
        this.mode = "auth";
        // RFC 4954: continue-req = "334" SP [base64] CRLF, the space even when empty
        this.out.push(`334 ${step.challenge}\r\n`);
        return undefined;
      case "error":
        return this.error(step.error, step.reply, `AUTH ${mechanism}`);
      case "done":
        this.awaitingType = "auth";
        this.pendingAuth = step.credentials;
        return { type: "auth", ...step.credentials };
    }
  }
}
