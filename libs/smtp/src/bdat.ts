/**
 * CHUNKING (RFC 3030): the BDAT argument and the content counter.
 *
 * BDAT content is length-delimited: no dot-stuffing, no end-of-data sequence,
 * so bare CR and bare LF cannot end anything and are allowed (they are still
 * reported in DataInfo). The smuggling rule of data.ts applies to DATA only.
 *
 * SECURITY: the chunk size is client input; sizes beyond what a safe integer
 * can count are refused, and every syntactically valid BDAT has its octets
 * consumed (and thrown away when the command is refused), so chunk content is
 * never read as commands. Content over the size limit is counted, not kept.
 */
import { type DataInfo } from "./data";

export interface BdatArgs {
  readonly size: number;
  readonly last: boolean;
}

/** "<size> [LAST]"; null when malformed. */
export function parseBdatArgs(args: string): BdatArgs | null {
  const m = /^(\d{1,16})(?: +(LAST))?$/i.exec(args);
  if (m === null) return null;
  const size = Number(m[1]);
  if (!Number.isSafeInteger(size)) return null;
  return { size, last: m[2] !== undefined };
}

const CR = 0x0d;
const LF = 0x0a;

/** Counts the content of one BDAT message across its chunks; same DataInfo as DataDecoder. */
export class BdatBody {
  private size = 0;
  private lineLength = 0;
  private afterCr = false;
  private flags = { sizeExceeded: false, bareCr: false, bareLf: false, longLines: false, eightBit: false, nul: false };

  constructor(
    private readonly maxSize: number,
    private readonly maxLineLength = 998,
  ) {}

  get exceeded(): boolean {
    return this.flags.sizeExceeded;
  }

  info(): DataInfo {
    // the content may end without CRLF: the last line and a trailing CR count too
    const longLines = this.flags.longLines || this.lineLength > this.maxLineLength;
    return { size: this.size, ...this.flags, bareCr: this.flags.bareCr || this.afterCr, longLines };
  }

  /** Counts content octets; returns them for a "body" event, or null once over the size limit. */
  write(chunk: Buffer): Buffer | null {
    if (chunk.length === 0) return null;
    this.size += chunk.length;
    if (this.size > this.maxSize) this.flags.sizeExceeded = true;
    if (this.flags.sizeExceeded) return null; // the message is refused: count only
    for (const b of chunk) {
      if (this.afterCr) {
        this.afterCr = false;
        if (b === LF) {
          this.endLine();
          continue;
        }
        this.flags.bareCr = true;
        this.lineLength++;
      }
      if (b === CR) {
        this.afterCr = true;
      } else if (b === LF) {
        this.flags.bareLf = true;
        this.endLine();
      } else {
        this.lineLength++;
        if (b === 0) this.flags.nul = true;
        else if (b > 0x7f) this.flags.eightBit = true;
      }
    }
    return chunk;
  }

  private endLine(): void {
    if (this.lineLength > this.maxLineLength) this.flags.longLines = true;
    this.lineLength = 0;
  }
}
