import { type DataInfo, type DataWriteResult } from "../data";
/*
 * Test only. The DATA body decoder (RFC 5321 sections 4.1.1.4 and 4.5.2): finds the
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

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CR_BUF = Buffer.from([CR]);


/** The byte-by-byte DataDecoder before its fast path (session 18), kept as the reference its differential test compares against. */
export class ReferenceDataDecoder {
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
    for (; i < input.length; i++) {
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
