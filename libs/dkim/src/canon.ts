/**
 * Canonicalisation (RFC 6376 3.4). Header fields are small and canonicalised
 * as latin1 strings; the body is canonicalised as it streams, by a
 * BodyCanonicalizer fed with update(chunk) that emits canonical bytes to one
 * or more sinks (each a hash with its own l= limit), so a large body is never
 * held or copied: slices of the input chunks go straight to the hashes.
 *
 * Line ends: a bare LF is taken as CRLF (as dkimpy and most verifiers do for
 * messages stored with Unix line ends); a CR not followed by LF is ordinary
 * data.
 *
 * SECURITY: linear in the input, no regular expressions, constant state
 * between chunks (a pending-empty-lines counter, a held CR, a pending
 * whitespace flag).
 */
import { createHash, type Hash } from "node:crypto";
import type { Canonicalization } from "./types";

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const CRLF = Buffer.from("\r\n", "latin1");
const SCRATCH_SIZE = 16 * 1024;
const DIRECT_RUN = 2048;

/** One header field as found in the message, with line ends already CRLF. */
export interface HeaderField {
  /** The name as written (without trailing whitespace). */
  readonly name: string;
  readonly lowerName: string;
  /** Everything after the colon, folding CRLFs kept, without the final CRLF. */
  readonly value: string;
  /** The name as written up to the colon, including any whitespace before it (for simple canonicalisation). */
  readonly rawName: string;
}

/** The canonical form of a field, CRLF-terminated. `value` may differ from field.value (b= blanked). */
export function canonicalizeHeader(canon: Canonicalization, field: HeaderField, value: string = field.value): string {
  if (canon === "simple") return `${field.rawName}:${value}\r\n`;
  return `${field.lowerName}:${relaxHeaderValue(value)}\r\n`;
}

/** Relaxed header value: unfold, every WSP run to one SP, no WSP at either end. */
export function relaxHeaderValue(value: string): string {
  let out = "";
  let pendingSpace = false;
  let from = -1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === SP || c === HTAB || c === CR || c === LF) {
      // CR and LF here are the folding CRLFs (line ends were normalised); unfolding removes them.
      if (from !== -1) {
        out += value.slice(from, i);
        from = -1;
      }
      if (c === SP || c === HTAB) pendingSpace = true;
      continue;
    }
    if (from === -1) {
      if (pendingSpace && out.length > 0) out += " ";
      pendingSpace = false;
      from = i;
    }
  }
  if (from !== -1) out += value.slice(from);
  return out;
}

/** Receives canonical body bytes; must consume them before returning (the buffer is reused). */
export interface BodySink {
  write(bytes: Buffer): void;
}

/** A hash of the canonical body, cut at l= when given. */
export class BodyHash implements BodySink {
  private readonly hash: Hash;
  private remaining: number;
  /** Canonical bytes offered, including those beyond l=. */
  length = 0;
  constructor(algorithm: "sha256" | "sha1", limit?: number) {
    this.hash = createHash(algorithm);
    this.remaining = limit ?? Number.POSITIVE_INFINITY;
  }
  write(bytes: Buffer): void {
    this.length += bytes.length;
    if (this.remaining >= bytes.length) {
      this.hash.update(bytes);
      this.remaining -= bytes.length;
    } else if (this.remaining > 0) {
      this.hash.update(bytes.subarray(0, this.remaining));
      this.remaining = 0;
    }
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

/**
 * Streams a body through simple or relaxed canonicalisation. Output runs that
 * are identical to the input (the usual case: CRLF lines, single spaces) are
 * coalesced and written as one slice of the chunk.
 */
export class BodyCanonicalizer {
  private readonly sinks: BodySink[] = [];
  private readonly relaxed: boolean;
  /** Empty lines seen since the last line with content: written only if content follows. */
  private emptyLines = 0;
  /** The current line has content (simple: any octet; relaxed: a non-WSP octet). */
  private lineHasContent = false;
  /** Relaxed: whitespace seen in the current line after content, not yet written. */
  private pendingSpace = false;
  /** The previous chunk ended with CR: a line end if the next chunk starts with LF. */
  private heldCR = false;
  private wroteAny = false;
  // The coalescing run: [runStart, runEnd) of runChunk, not yet written.
  private runChunk: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_SIZE);
  private scratchUsed = 0;

  constructor(canon: Canonicalization) {
    this.relaxed = canon === "relaxed";
  }

  addSink(sink: BodySink): void {
    this.sinks.push(sink);
  }

  update(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const lf = chunk.indexOf(LF, i);
      if (lf === -1) {
        this.content(chunk, i, n);
        break;
      }
      if (lf > i && chunk[lf - 1] === CR) {
        this.content(chunk, i, lf - 1);
        this.endLine(chunk, lf - 1);
      } else {
        if (lf === i && this.heldCR) this.heldCR = false; // CR at the end of the last chunk + this LF
        else this.content(chunk, i, lf);
        this.endLine(null, 0);
      }
      i = lf + 1;
    }
    this.flushRun();
  }

  /** Ends the body: a last line without CRLF gets one; an empty body is "\r\n" (simple) or nothing (relaxed). */
  finish(): void {
    if (this.heldCR) {
      this.heldCR = false;
      this.contentBytes(Buffer.from([CR]), 0, 1);
    }
    if (this.lineHasContent) this.endLine(null, 0);
    if (!this.wroteAny && !this.relaxed) this.emit(CRLF, 0, 2);
    this.flushRun();
    this.flushScratch();
  }

  /** Line content [s, e) of chunk (no line end inside). A CR at the very end of the chunk is held back. */
  private content(chunk: Buffer, s: number, e: number): void {
    if (this.heldCR) {
      this.heldCR = false;
      this.contentBytes(Buffer.from([CR]), 0, 1);
    }
    if (e > s && e === chunk.length && chunk[e - 1] === CR) {
      this.heldCR = true;
      e--;
    }
    if (e > s) this.contentBytes(chunk, s, e);
  }

  private contentBytes(chunk: Buffer, s: number, e: number): void {
    if (!this.relaxed) {
      this.startContent();
      this.emit(chunk, s, e);
      return;
    }
    if (!this.pendingSpace && this.alreadyRelaxed(chunk, s, e)) {
      // The usual line: single spaces, no tabs, nothing trailing. One slice, no per-word work.
      if (!this.lineHasContent) this.startContent();
      this.emit(chunk, s, e);
      return;
    }
    // Otherwise rewrite the segment octet by octet into the scratch buffer (state in locals: this is the hot loop).
    this.flushRun();
    const scratch = this.scratch;
    let used = this.scratchUsed;
    let pending = this.pendingSpace;
    let wrote = false;
    for (let k = s; k < e; k++) {
      const c = chunk[k] as number;
      if (c === SP || c === HTAB) {
        // Leading and inner runs become one SP; trailing ones vanish, so it is written only when content follows.
        pending = true;
        continue;
      }
      if (!this.lineHasContent) {
        this.scratchUsed = used;
        this.startContent();
        this.flushRun();
        used = this.scratchUsed;
      }
      if (used + 2 > SCRATCH_SIZE) {
        this.scratchUsed = used;
        this.flushScratch();
        used = 0;
      }
      if (pending) {
        scratch[used++] = SP;
        pending = false;
      }
      scratch[used++] = c;
      wrote = true;
    }
    this.scratchUsed = used;
    this.pendingSpace = pending;
    if (wrote) this.wroteAny = true;
  }

  /** [s, e) has no HTAB, no two SPs in a row and no SP at the end: relaxed leaves it as it is. */
  private alreadyRelaxed(chunk: Buffer, s: number, e: number): boolean {
    const last = chunk[e - 1];
    if (last === SP || last === HTAB) return false;
    let prevSpace = false;
    for (let k = s; k < e; k++) {
      const c = chunk[k];
      if (c === SP) {
        if (prevSpace) return false;
        prevSpace = true;
      } else if (c === HTAB) return false;
      else prevSpace = false;
    }
    return true;
  }

  private startContent(): void {
    while (this.emptyLines > 0) {
      this.emit(CRLF, 0, 2);
      this.emptyLines--;
    }
    this.lineHasContent = true;
  }

  /** A line end; `chunk`/`at` locate an actual CRLF in the input (for coalescing), or null. */
  private endLine(chunk: Buffer | null, at: number): void {
    this.pendingSpace = false;
    if (!this.lineHasContent) {
      this.emptyLines++;
      return;
    }
    this.lineHasContent = false;
    if (chunk !== null) this.emit(chunk, at, at + 2);
    else this.emit(CRLF, 0, 2);
  }

  private emit(chunk: Buffer, s: number, e: number): void {
    this.wroteAny = true;
    if (this.runChunk === chunk && this.runEnd === s) {
      this.runEnd = e;
      return;
    }
    this.flushRun();
    this.runChunk = chunk;
    this.runStart = s;
    this.runEnd = e;
  }

  /**
   * Hands the run to the sinks. Short runs (relaxed output cut at every
   * whitespace change) are copied into a scratch buffer first: one hash update
   * per 16 KiB costs far less than one per word. Long runs go straight through.
   */
  private flushRun(): void {
    const chunk = this.runChunk;
    if (chunk === null) return;
    this.runChunk = null;
    const n = this.runEnd - this.runStart;
    if (n >= DIRECT_RUN) {
      this.flushScratch();
      this.write(chunk.subarray(this.runStart, this.runEnd));
      return;
    }
    if (this.scratchUsed + n > SCRATCH_SIZE) this.flushScratch();
    this.scratchUsed += chunk.copy(this.scratch, this.scratchUsed, this.runStart, this.runEnd);
  }

  private flushScratch(): void {
    if (this.scratchUsed === 0) return;
    this.write(this.scratch.subarray(0, this.scratchUsed));
    this.scratchUsed = 0;
  }

  private write(bytes: Buffer): void {
    for (const sink of this.sinks) sink.write(bytes);
  }
}
