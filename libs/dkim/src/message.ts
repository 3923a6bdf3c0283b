/**
 * Splits a message into its header section (parsed into fields) and a body
 * that is passed on chunk by chunk, from a Buffer or an async stream.
 *
 * SECURITY: the message is hostile. The header section is read up to
 * maxHeaderBytes and no further (a larger one is reported, not buffered); the
 * end of the header section is found by a linear scan that keeps one bit of
 * state across chunks; field parsing is one pass over the lines. Lines that
 * are neither a field nor a continuation (no colon, or an mbox "From " line)
 * are skipped: they cannot be signed.
 */
import type { HeaderField } from "./canon";
import type { MessageSource } from "./types";

const CR = 0x0d;
const LF = 0x0a;

/** Splits the header section from a whole message in memory (subarrays, no copy); `tooLarge` past maxHeaderBytes. */
export function splitWhole(message: Buffer, maxHeaderBytes: number): { header: Buffer; body: Buffer; tooLarge: boolean } {
  const scan = new HeaderEndScanner();
  const end = scan.feed(message);
  const headerEnd = end === -1 ? message.length : end;
  if (headerEnd > maxHeaderBytes) return { header: message.subarray(0, 0), body: message.subarray(0, 0), tooLarge: true };
  return { header: message.subarray(0, headerEnd), body: message.subarray(headerEnd), tooLarge: false };
}

/**
 * Finds the end of the header section: the octet after the empty line (LF or
 * CRLF right after a line end, or at the very start of the message).
 */
export class HeaderEndScanner {
  /** At the start of a line (the start of the message counts). */
  private atLineStart = true;
  /** At a line start, a CR was seen: an LF now ends the header section. */
  private crAtLineStart = false;

  /** Returns the offset in `chunk` just after the empty line, or -1 when the header section goes on. */
  feed(chunk: Buffer): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.atLineStart) {
        const c = chunk[i];
        if (this.crAtLineStart) {
          if (c === LF) return i + 1;
          this.crAtLineStart = false;
          this.atLineStart = false;
          continue; // re-examine c as ordinary line content
        }
        if (c === LF) return i + 1;
        if (c === CR) {
          this.crAtLineStart = true;
          i++;
          continue;
        }
        this.atLineStart = false;
      }
      const lf = chunk.indexOf(LF, i);
      if (lf === -1) return -1;
      this.atLineStart = true;
      i = lf + 1;
    }
    return -1;
  }
}

/** Parses the header section (latin1, any mix of CRLF and LF) into fields with CRLF folding. */
export function parseHeaderFields(header: Buffer): HeaderField[] {
  const text = header.toString("latin1");
  const fields: HeaderField[] = [];
  let current: { rawName: string; value: string } | null = null;
  const push = (): void => {
    if (current === null) return;
    const name = trimEndWsp(current.rawName);
    fields.push({ name, lowerName: name.toLowerCase(), value: current.value, rawName: current.rawName });
    current = null;
  };
  let pos = 0;
  while (pos < text.length) {
    let lf = text.indexOf("\n", pos);
    if (lf === -1) lf = text.length;
    const end = lf > pos && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
    const line = text.slice(pos, end);
    pos = lf + 1;
    if (line.length === 0) break; // the empty line ending the header section
    const c = line.charCodeAt(0);
    if (c === 0x20 || c === 0x09) {
      if (current !== null) current.value += `\r\n${line}`;
      continue;
    }
    push();
    const colon = line.indexOf(":");
    if (colon <= 0) continue; // not a field (an mbox "From " line, garbage): cannot be signed
    current = { rawName: line.slice(0, colon), value: line.slice(colon + 1) };
    if (!isPrintableName(trimEndWsp(current.rawName))) current = null;
  }
  push();
  return fields;
}

const DKIM = [0x64, 0x6b, 0x69, 0x6d]; // "dkim", matched with the ASCII case bit set
const SIGNATURE = [0x73, 0x69, 0x67, 0x6e, 0x61, 0x74, 0x75, 0x72, 0x65]; // "signature"

/**
 * False when no field of the header section can be a DKIM-Signature: the text
 * "dkim-signature" (any case) appears nowhere in it. Checked on the bytes, at
 * each "-", so that an unsigned message's header is neither decoded nor split
 * into fields. (b | 0x20) equals a lower-case letter only for that letter in
 * either case, so the test never misses a field parseHeaderFields would name so.
 */
export function mayHoldSignature(header: Buffer): boolean {
  for (let dash = header.indexOf(0x2d, 4); dash >= 0 && dash + 9 < header.length; dash = header.indexOf(0x2d, dash + 1)) {
    let hit = true;
    for (let k = 0; k < 4 && hit; k++) hit = ((header[dash - 4 + k] as number) | 0x20) === DKIM[k];
    for (let k = 0; k < 9 && hit; k++) hit = ((header[dash + 1 + k] as number) | 0x20) === SIGNATURE[k];
    if (hit) return true;
  }
  return false;
}

function trimEndWsp(s: string): string {
  let e = s.length;
  while (e > 0 && (s.charCodeAt(e - 1) === 0x20 || s.charCodeAt(e - 1) === 0x09)) e--;
  return e === s.length ? s : s.slice(0, e);
}

function isPrintableName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

export function toBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, "latin1");
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export function isAsyncIterable(m: MessageSource): m is AsyncIterable<Buffer | Uint8Array | string> {
  return typeof m === "object" && m !== null && Symbol.asyncIterator in m;
}

/** What the reader found before the body: the header (or that it was too large) and the rest. */
export interface MessageHead {
  readonly tooLarge: boolean;
  readonly fields: HeaderField[];
  /** The body, in chunks, after the header section. Not consumed unless iterated. */
  readonly body: AsyncIterable<Buffer> | Buffer;
}

/**
 * Reads the header section of a message from memory or a stream, keeping at
 * most maxHeaderBytes. Strings are taken as latin1 (one octet per character),
 * so pass Buffers for UTF-8 content.
 */
export async function readHead(message: MessageSource, maxHeaderBytes: number): Promise<MessageHead> {
  if (!isAsyncIterable(message)) {
    const whole = splitWhole(toBuffer(message), maxHeaderBytes);
    return { tooLarge: whole.tooLarge, fields: whole.tooLarge ? [] : parseHeaderFields(whole.header), body: whole.body };
  }
  const iterator = message[Symbol.asyncIterator]();
  const scan = new HeaderEndScanner();
  const parts: Buffer[] = [];
  let size = 0;
  let rest: Buffer | null = null;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) break;
    const chunk = toBuffer(next.value);
    const end = scan.feed(chunk);
    if (end === -1) {
      size += chunk.length;
      if (size > maxHeaderBytes) {
        await iterator.return?.();
        return { tooLarge: true, fields: [], body: Buffer.alloc(0) };
      }
      parts.push(chunk);
      continue;
    }
    size += end;
    if (size > maxHeaderBytes) {
      await iterator.return?.();
      return { tooLarge: true, fields: [], body: Buffer.alloc(0) };
    }
    parts.push(chunk.subarray(0, end));
    rest = chunk.subarray(end);
    break;
  }
  const fields = parseHeaderFields(Buffer.concat(parts));
  const first = rest;
  const body: AsyncIterable<Buffer> = {
    async *[Symbol.asyncIterator]() {
      if (first === null) return; // the message ended inside the header section
      if (first.length > 0) yield first;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield toBuffer(next.value);
      }
    },
  };
  return { tooLarge: false, fields, body };
}
