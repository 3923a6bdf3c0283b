import { isAscii } from "node:buffer";

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * Encodes a message for the DATA phase (RFC 5321 section 4.5.2): every line
 * that starts with "." gets another "."; every line ends with CRLF (a bare LF
 * becomes CRLF; a bare CR that is not followed by LF is passed through, it
 * ends no line); end() closes an unterminated last line and appends ".CRLF",
 * so the stream always ends with CRLF.CRLF. State is kept across chunks, so
 * any split of the input gives the same output.
 */
export class DataEncoder {
  private atLineStart = true;
  private lastWasCr = false;
  private ended = false;
  private written = 0;
  /** Positions of the current chunk that need a byte inserted before them (reused between pushes). */
  private readonly fixes: number[] = [];

  /** Bytes of message content seen so far (before stuffing). */
  get inputBytes(): number {
    return this.written;
  }

  /**
   * The encoded chunk. When no line of it starts with "." and no LF lacks its CR (nearly
   * every message: the edge stores CRLF lines), that is `chunk` itself, not a copy: the
   * caller must not change `chunk` before the result is written.
   */
  push(chunk: Uint8Array): Buffer {
    if (this.ended) throw new Error("DataEncoder.push after end");
    this.written += chunk.length;
    const src = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const n = src.length;
    // Where a byte goes in: a "." before a "." that starts a line, a CR before a bare LF
    // (the byte at the position tells which). Found line by line with indexOf (native);
    // copying every line into a new buffer twice the chunk's size, as this did before,
    // cost dane-outbound a tenth of its CPU with 100 KB messages, garbage collection included.
    const fixes = this.fixes;
    fixes.length = 0;
    let atLineStart = this.atLineStart;
    let lastWasCr = this.lastWasCr;
    let i = 0;
    while (i < n) {
      if (atLineStart && src[i] === DOT) fixes.push(i);
      const lf = src.indexOf(LF, i);
      if (lf === -1) {
        atLineStart = false;
        lastWasCr = src[n - 1] === CR;
        break;
      }
      // An empty line at the chunk's start: the CR, if any, ended the previous chunk.
      if (!(lf > i ? src[lf - 1] === CR : lastWasCr)) fixes.push(lf);
      atLineStart = true;
      lastWasCr = false;
      i = lf + 1;
    }
    this.atLineStart = atLineStart;
    this.lastWasCr = lastWasCr;
    if (fixes.length === 0) return src;
    const out = Buffer.allocUnsafe(n + fixes.length);
    let o = 0;
    let from = 0;
    for (const at of fixes) {
      o += src.copy(out, o, from, at);
      out[o++] = src[at] === DOT ? DOT : CR;
      from = at;
    }
    src.copy(out, o, from, n);
    return out;
  }

  /** The tail: CRLF when the last line is open (LF alone after a trailing CR), then ".CRLF". */
  end(): Buffer {
    if (this.ended) throw new Error("DataEncoder.end called twice");
    this.ended = true;
    if (this.atLineStart) return Buffer.from(".\r\n");
    return Buffer.from(this.lastWasCr ? "\n.\r\n" : "\r\n.\r\n");
  }
}

/** Encodes a whole message for DATA in one call. */
export function encodeData(message: Uint8Array): Buffer {
  const enc = new DataEncoder();
  return Buffer.concat([enc.push(message), enc.end()]);
}

/** True when the message has a byte above 0x7f (needs BODY=8BITMIME, RFC 6152). */
export function hasEightBit(message: Uint8Array): boolean {
  // buffer.isAscii runs natively (simdutf); a byte loop here cost as much as the whole DATA phase.
  return !isAscii(message);
}
