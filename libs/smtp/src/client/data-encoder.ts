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

  /** Bytes of message content seen so far (before stuffing). */
  get inputBytes(): number {
    return this.written;
  }

  push(chunk: Uint8Array): Buffer {
    if (this.ended) throw new Error("DataEncoder.push after end");
    this.written += chunk.length;
    const src = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const n = src.length;
    // Worst case: every byte a LF (-> CRLF) or a leading dot (-> "..").
    const out = Buffer.allocUnsafe(n * 2);
    let o = 0;
    let i = 0;
    // Line by line (indexOf and copy run natively): a byte loop in JavaScript cost dane-outbound
    // more CPU than the rest of a 100 KB message's delivery.
    while (i < n) {
      if (this.atLineStart && src[i] === DOT) out[o++] = DOT;
      const lf = src.indexOf(LF, i);
      const end = lf === -1 ? n : lf;
      if (end > i) {
        o += src.copy(out, o, i, end);
        this.atLineStart = false;
        this.lastWasCr = src[end - 1] === CR;
      }
      if (lf === -1) break;
      if (!this.lastWasCr) out[o++] = CR;
      out[o++] = LF;
      this.atLineStart = true;
      this.lastWasCr = false;
      i = lf + 1;
    }
    return out.subarray(0, o);
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
