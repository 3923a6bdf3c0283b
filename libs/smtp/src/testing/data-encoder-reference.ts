/*
 * Test only. The DATA encoder (RFC 5321 section 4.5.2) as it was before its zero-copy
 * fast path: every chunk copied line by line into a fresh buffer twice its size. Kept as
 * the reference the differential test of DataEncoder compares against.
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

export class ReferenceDataEncoder {
  private atLineStart = true;
  private lastWasCr = false;
  private ended = false;
  private written = 0;

  get inputBytes(): number {
    return this.written;
  }

  push(chunk: Uint8Array): Buffer {
    if (this.ended) throw new Error("DataEncoder.push after end");
    this.written += chunk.length;
    const src = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const n = src.length;
    const out = Buffer.allocUnsafe(n * 2);
    let o = 0;
    let i = 0;
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

  end(): Buffer {
    if (this.ended) throw new Error("DataEncoder.end called twice");
    this.ended = true;
    if (this.atLineStart) return Buffer.from(".\r\n");
    return Buffer.from(this.lastWasCr ? "\n.\r\n" : "\r\n.\r\n");
  }
}
