/**
 * The session's input buffer: bytes fed and not yet consumed, with absolute
 * stream offsets (for the synchronisation check).
 *
 * SECURITY: line() never holds more than one line's limit of an unterminated
 * line: past the limit the line is discarded up to its LF (and reported as too
 * long), so a client cannot grow the buffer by never sending LF.
 */

const EMPTY = Buffer.alloc(0);
const LF = 0x0a;
const CR = 0x0d;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A command line as text; null when it has control characters (TAB aside) or invalid UTF-8. */
export function decodeCommandLine(raw: Buffer): string | null {
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

/** line() result for a line over its limit (already discarded). */
export const TOO_LONG = Symbol("line too long");

export class InputBuffer {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** absolute stream offset of buf[0] */
  private base = 0;
  private discarding = false;

  /** octets fed and not consumed */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  /** absolute offset of the next unconsumed octet */
  get offset(): number {
    return this.base + this.pos;
  }

  /** absolute offset just past the last octet fed */
  get end(): number {
    return this.base + this.buf.length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.pos >= this.buf.length) {
      this.base += this.buf.length;
      this.buf = chunk;
    } else {
      this.base += this.pos;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
  }

  /**
   * The next line without its LF (and the CR before it), TOO_LONG when it was
   * longer than limit(head) octets including the terminator, or null when no
   * complete line is buffered. head is the start of the line (up to 8 octets).
   */
  line(limit: (head: Buffer) => number): Buffer | typeof TOO_LONG | null {
    const start = this.pos;
    const max = limit(this.buf.subarray(start, start + 8));
    const lf = this.buf.indexOf(LF, start);
    if (lf < 0) {
      if (this.discarding || this.buf.length - start >= max) {
        this.discarding = true;
        this.drop();
      }
      return null;
    }
    const buf = this.buf;
    this.pos = lf + 1;
    if (this.discarding || lf + 1 - start > max) {
      this.discarding = false;
      return TOO_LONG;
    }
    return buf.subarray(start, lf > start && buf[lf - 1] === CR ? lf - 1 : lf);
  }

  /** Consumes up to n octets (a view of the fed chunk, not a copy). */
  take(n: number): Buffer {
    const end = Math.min(this.buf.length, this.pos + n);
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  /** The unconsumed octets (a view) and where they start, for decoders that report how far they read. */
  view(): { buffer: Buffer; start: number } {
    return { buffer: this.buf, start: this.pos };
  }

  /** Marks input up to buffer index `end` (from view()) consumed. */
  consumeTo(end: number): void {
    this.pos = Math.max(this.pos, Math.min(end, this.buf.length));
  }

  /** Up to max unconsumed octets starting at the next one (a view). */
  peek(max: number): Buffer {
    return this.buf.subarray(this.pos, this.pos + max);
  }

  /**
   * Throws away everything buffered; returns how many octets that was.
   * `skipped` octets that were fed and dropped without being buffered move
   * the stream offset on as well.
   */
  clear(skipped = 0): number {
    const n = this.buffered;
    this.drop();
    this.base += skipped;
    this.discarding = false;
    return n;
  }

  private drop(): void {
    this.base += this.buf.length;
    this.buf = EMPTY;
    this.pos = 0;
  }
}
