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
    // Worst case: every byte a LF (-> CRLF) or a leading dot (-> "..").
    const out = Buffer.allocUnsafe(chunk.length * 2);
    let o = 0;
    for (const b of chunk) {
      if (this.atLineStart && b === DOT) out[o++] = DOT;
      if (b === LF) {
        if (!this.lastWasCr) out[o++] = CR;
        out[o++] = LF;
        this.atLineStart = true;
        this.lastWasCr = false;
        continue;
      }
      out[o++] = b;
      this.atLineStart = false;
      this.lastWasCr = b === CR;
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
  for (const b of message) if (b > 0x7f) return true;
  return false;
}
