import {
  SmtpReplyCodeMismatchError,
  SmtpReplyLineTooLongError,
  SmtpReplySyntaxError,
  SmtpReplyTooManyLinesError,
  type SmtpClientError,
} from "./errors";

/** One complete server reply (RFC 5321 section 4.2). */
export interface SmtpReply {
  /** Three-digit reply code, e.g. 250. */
  readonly code: number;
  /** RFC 3463 enhanced status code ("5.1.1") when the first line starts with one whose class matches the code. */
  readonly enhanced: string | undefined;
  /** The text of each line after the code and separator, in order (enhanced code included). */
  readonly lines: readonly string[];
}

export const ReplyKind = {
  Positive: "positive", // 2yz
  Intermediate: "intermediate", // 3yz
  Transient: "transient", // 4yz
  Permanent: "permanent", // 5yz
} as const;
export type ReplyKind = (typeof ReplyKind)[keyof typeof ReplyKind];

export function replyKind(reply: Pick<SmtpReply, "code">): ReplyKind {
  const first = Math.floor(reply.code / 100);
  if (first === 2) return ReplyKind.Positive;
  if (first === 3) return ReplyKind.Intermediate;
  if (first === 4) return ReplyKind.Transient;
  return ReplyKind.Permanent;
}

/** The reply as one line for logs and confirmations: `550 5.1.1 no such user`; continuation lines joined by a space. */
export function formatReplyLine(reply: SmtpReply): string {
  const text = reply.lines.filter((l) => l.length > 0).join(" ");
  return text.length > 0 ? `${reply.code} ${text}` : String(reply.code);
}

/** The reply as the server sent it, lines separated by "\n" (`250-a\n250 b`). */
export function formatReply(reply: SmtpReply): string {
  const last = reply.lines.length - 1;
  return reply.lines
    .map((l, i) => `${reply.code}${i === last ? " " : "-"}${l}`.trimEnd())
    .join("\n");
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?= |$)/;

/** Extracts an RFC 3463 status code from reply text when its class matches the reply code. */
export function parseEnhancedStatus(code: number, text: string): string | undefined {
  const m = ENHANCED.exec(text);
  if (!m || Number(m[1]) !== Math.floor(code / 100)) return undefined;
  return `${m[1]}.${Number(m[2])}.${Number(m[3])}`;
}

/** Escapes a raw line for error messages and logs: printable ASCII kept, the rest as \xNN; capped at 120 chars. */
export function escapeLine(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes.subarray(0, 120)) {
    out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return bytes.length > 120 ? `${out}...` : out;
}

export interface ReplyParserOptions {
  /** Longest accepted line in bytes without its line end. RFC 5321 allows 510; servers exceed it. Default 2048. */
  maxLineLength?: number;
  /** Most lines in one reply. Default 200. */
  maxLines?: number;
}

const NO_BYTES = Buffer.alloc(0);

const LINE = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s;

/**
 * Incremental reply parser: feed chunks of any size, get complete replies.
 * Lines end with CRLF; a bare LF is accepted too (robustness). Throws a
 * named SmtpClientError on malformed input; the parser then stays failed
 * and rethrows on every later push, since the stream cannot be resynchronised.
 */
export class ReplyParser {
  private readonly maxLineLength: number;
  private readonly maxLines: number;
  private pendingBytes: Buffer = NO_BYTES;
  private code = 0;
  private lines: string[] = [];
  private failure: SmtpClientError | undefined;

  constructor(opts: ReplyParserOptions = {}) {
    this.maxLineLength = opts.maxLineLength ?? 2048;
    this.maxLines = opts.maxLines ?? 200;
  }

  /** True while part of a reply (a partial line or the first lines of a multi-line reply) is buffered. */
  get inReply(): boolean {
    return this.pendingBytes.length > 0 || this.lines.length > 0;
  }

  push(chunk: Uint8Array): SmtpReply[] {
    if (this.failure) throw this.failure;
    try {
      return this.consume(chunk);
    } catch (err) {
      this.failure = err as SmtpClientError;
      throw err;
    }
  }

  private consume(chunk: Uint8Array): SmtpReply[] {
    // A view of the chunk, not a copy: lines become strings at once, and only a partial line is kept (copied).
    const buf = this.pendingBytes.length > 0 ? Buffer.concat([this.pendingBytes, chunk]) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const replies: SmtpReply[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      const end = nl > start && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      const reply = this.line(buf.subarray(start, end));
      if (reply) replies.push(reply);
      start = nl + 1;
    }
    const rest = buf.subarray(start);
    // A trailing CR may belong to the CRLF still to come.
    const restLength = rest.length > 0 && rest[rest.length - 1] === 0x0d ? rest.length - 1 : rest.length;
    if (restLength > this.maxLineLength) throw new SmtpReplyLineTooLongError(this.maxLineLength);
    this.pendingBytes = rest.length === 0 ? NO_BYTES : Buffer.from(rest);
    return replies;
  }

  private line(bytes: Buffer): SmtpReply | undefined {
    if (bytes.length > this.maxLineLength) throw new SmtpReplyLineTooLongError(this.maxLineLength);
    const m = LINE.exec(bytes.toString("utf8"));
    if (!m) throw new SmtpReplySyntaxError(escapeLine(bytes));
    const code = Number(m[1]);
    if (this.lines.length > 0 && code !== this.code) throw new SmtpReplyCodeMismatchError(this.code, code);
    if (this.lines.length >= this.maxLines) throw new SmtpReplyTooManyLinesError(this.maxLines);
    this.code = code;
    this.lines.push(m[3] ?? "");
    if (m[2] === "-") return undefined;
    const lines = this.lines;
    this.lines = [];
    return { code, enhanced: parseEnhancedStatus(code, lines[0] ?? ""), lines };
  }
}
