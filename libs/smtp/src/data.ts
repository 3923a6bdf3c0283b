/**
 * The DATA body decoder (RFC 5321 sections 4.1.1.4 and 4.5.2): finds the
 * end-of-data sequence, removes dot-stuffing, counts size and line lengths.
 *
 * SECURITY: this is the SMTP smuggling boundary (CVE-2023-51764/51765/51766).
 * Only CRLF "." CRLF ends the data; "<LF>.<LF>", "<CR>.<CR>", "<LF>.<CR><LF>"
 * and "<CR><LF>.<LF>" are content. Any bare CR or bare LF is recorded so the
 * message can be refused at end of data: a message that contains one could be
 * split differently by the next MTA. Once the size limit is passed, nothing
 * more is emitted (memory stays bounded) but the stream is still consumed up
 * to the real end so the session stays in sync.
 */

export interface DataInfo {
  /** body octets after dot-unstuffing (those emitted plus those dropped over the limit) */
  readonly size: number;
  readonly sizeExceeded: boolean;
  readonly bareCr: boolean;
  readonly bareLf: boolean;
  /** some line was longer than 998 octets before its CRLF (RFC 5322 2.1.1) */
  readonly longLines: boolean;
  readonly eightBit: boolean;
  readonly nul: boolean;
}

/** Decoder states, byte by byte. */
const St = {
  /** at the start of a line: after CRLF, or at the start of data */
  lineStart: 0,
  /** "." at line start seen (already dropped: it is either stuffing or the terminator) */
  dot: 1,
  /** ".<CR>" at line start seen; the CR is held back */
  dotCr: 2,
  /** inside a line */
  mid: 3,
  /** a CR inside a line was seen (and emitted) */
  cr: 4,
} as const;
type State = (typeof St)[keyof typeof St];

import { isAscii } from "node:buffer";

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CR_BUF = Buffer.from([CR]);

export interface DataWriteResult {
  /** index in the input just after the consumed bytes */
  readonly end: number;
  /** body octets decoded from this input (empty once the size limit is exceeded) */
  readonly chunks: Buffer[];
  /** the terminating CRLF.CRLF was consumed */
  readonly done: boolean;
}

export class DataDecoder {
  private state: State = St.lineStart;
  private size = 0;
  private lineLength = 0;
  private flags = { sizeExceeded: false, bareCr: false, bareLf: false, longLines: false, eightBit: false, nul: false };

  constructor(
    private readonly maxSize: number,
    private readonly maxLineLength = 998,
  ) {}

  info(): DataInfo {
    return { size: this.size, ...this.flags };
  }

  /** Decodes input[start..] until the end of data or of the input. */
  write(input: Buffer, start: number): DataWriteResult {
    const chunks: Buffer[] = [];
    const emit = (b: Buffer): void => {
      if (b.length === 0) return;
      this.size += b.length;
      if (this.size > this.maxSize) this.flags.sizeExceeded = true;
      if (!this.flags.sizeExceeded) chunks.push(b);
    };
    let runStart = start;
    let i = start;
    const n = input.length;
    // Where the next CR, LF and NUL are at or after i (-1: none left; -2: not looked up yet). The
    // lookups only move forward, so each indexOf makes at most one pass over a read: no input,
    // however many bare CRs it holds, makes this quadratic.
    let crAt = -2;
    let lfAt = -2;
    let nulAt = -2;
    // An all-ASCII read (the usual case) needs no 8-bit check per line; bytes after the end of
    // data count here, so a read that is not all ASCII is checked run by run.
    const ascii = this.flags.eightBit || isAscii(start === 0 ? input : input.subarray(start));
    for (; i < n; i++) {
      if (this.state === St.mid) {
        // Fast path: inside a line, the octets up to the next CR or LF are plain content; they stay
        // in the run and only add to the line length and the 8-bit and NUL flags. Through the state
        // machine below, one byte at a time, they were about a tenth of the edge's CPU at 100 KB
        // (a JS loop costs about 3 ns a byte here, indexOf a tenth of that).
        if (crAt !== -1 && crAt < i) crAt = input.indexOf(CR, i);
        if (lfAt !== -1 && lfAt < i) lfAt = input.indexOf(LF, i);
        const stop = Math.min(crAt === -1 ? n : crAt, lfAt === -1 ? n : lfAt);
        if (stop > i) {
          this.lineLength += stop - i;
          if (!ascii && !this.flags.eightBit && !isAscii(input.subarray(i, stop))) this.flags.eightBit = true;
          if (!this.flags.nul) {
            if (nulAt !== -1 && nulAt < i) nulAt = input.indexOf(0, i);
            if (nulAt !== -1 && nulAt < stop) this.flags.nul = true;
          }
          i = stop;
          if (i >= n) break;
        }
      }
      const b = input[i] as number;
      switch (this.state) {
        case St.lineStart:
          if (b === DOT) {
            emit(input.subarray(runStart, i));
            runStart = i + 1;
            this.lineLength = 1;
            this.state = St.dot;
            continue;
          }
          break;
        case St.dot:
          if (b === CR) {
            emit(input.subarray(runStart, i));
            runStart = i + 1;
            this.state = St.dotCr;
            continue;
          }
          this.state = St.mid;
          break;
        case St.dotCr:
          // the run is empty here: the dot and the CR were both cut out of it
          if (b === LF) return { end: i + 1, chunks, done: true };
          // ".<CR>x": the dot was stuffing, the held CR is a bare CR and content
          emit(CR_BUF);
          runStart = i;
          this.flags.bareCr = true;
          this.lineLength++;
          this.state = St.mid;
          break;
        case St.cr:
          if (b === LF) {
            if (this.lineLength > this.maxLineLength) this.flags.longLines = true;
            this.lineLength = 0;
            this.state = St.lineStart;
            continue;
          }
          this.flags.bareCr = true;
          this.lineLength++;
          this.state = St.mid;
          break;
        default:
          break;
      }
      // St.mid (or a state that just fell through to it)
      if (b === CR) {
        this.state = St.cr;
      } else if (b === LF) {
        this.flags.bareLf = true;
        if (this.lineLength > this.maxLineLength) this.flags.longLines = true;
        this.lineLength = 0;
        this.state = St.mid;
      } else {
        this.lineLength++;
        if (b === 0) this.flags.nul = true;
        else if (b > 0x7f) this.flags.eightBit = true;
        this.state = St.mid;
      }
    }
    // a held "." or ".<CR>" at the end of the input is not part of the run
    emit(input.subarray(runStart, i));
    return { end: i, chunks, done: false };
  }
}
