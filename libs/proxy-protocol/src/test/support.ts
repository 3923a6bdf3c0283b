/** Test helpers: chunking strategies, a feeding loop, raw v2 builders. */
import { crc32c } from "../crc32c";
import { ProxyHeaderParser } from "../parser";
import { V2_SIGNATURE, type ParseResult, type ProxyParserOptions } from "../types";

export type Split = (b: Buffer) => Buffer[];

export const whole: Split = (b) => [b];
export const bytewise: Split = (b) => [...b].map((x) => Buffer.from([x]));
/** Two chunks, cut before byte k. */
export const cutAt =
  (k: number): Split =>
  (b) => [b.subarray(0, k), b.subarray(k)];

/** whole, one byte at a time, and cut at every position 1..n-1. */
export function everySplit(n: number): [string, Split][] {
  const out: [string, Split][] = [
    ["whole", whole],
    ["bytewise", bytewise],
  ];
  for (let k = 1; k < n; k++) out.push([`cut@${k}`, cutAt(k)]);
  return out;
}

export interface Fed {
  result: ParseResult;
  /** Bytes not consumed by the header: result.rest plus every chunk not pushed. */
  rest: Buffer;
  /** Largest bufferedBytes seen after any push. */
  maxBuffered: number;
  pushes: number;
}

/** Pushes chunks until the parser answers done or error. */
export function feed(chunks: Buffer[], options?: ProxyParserOptions): Fed {
  const p = new ProxyHeaderParser(options);
  let result: ParseResult = { status: "need-more" };
  let maxBuffered = 0;
  let k = 0;
  for (; k < chunks.length && result.status === "need-more"; k++) {
    result = p.push(chunks[k]!);
    maxBuffered = Math.max(maxBuffered, p.bufferedBytes);
  }
  const tail = chunks.slice(k);
  const rest = Buffer.concat([result.status === "done" ? result.rest : Buffer.alloc(0), ...tail]);
  return { result, rest, maxBuffered, pushes: k };
}

/** A comparable summary of a result (headers compared with toEqual, errors by code/reason/offset/class). */
export function outcome(f: Fed): unknown {
  const r = f.result;
  if (r.status === "done") return { status: r.status, header: r.header, headerBytes: r.headerBytes, rest: f.rest.toString("hex") };
  if (r.status === "error") {
    const e = r.error;
    return { status: r.status, name: e.name, code: e.code, reason: e.reason, offset: e.offset };
  }
  return { status: r.status };
}

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

export interface RawV2 {
  verCmd?: number;
  fam?: number;
  body?: Buffer;
  /** Length field; defaults to body.length. */
  len?: number;
}

/** A v2 header from raw parts, with no validation at all. */
export function rawV2({ verCmd = 0x21, fam = 0x11, body = Buffer.alloc(0), len }: RawV2): Buffer {
  const fixed = Buffer.alloc(16);
  V2_SIGNATURE.copy(fixed);
  fixed[12] = verCmd;
  fixed[13] = fam;
  fixed.writeUInt16BE(len ?? body.length, 14);
  return Buffer.concat([fixed, body]);
}

export function tlv(type: number, value: Buffer | string, len?: number): Buffer {
  const v = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const head = Buffer.from([type, 0, 0]);
  head.writeUInt16BE(len ?? v.length, 1);
  return Buffer.concat([head, v]);
}

/** 192.0.2.1:40000 -> 198.51.100.20:25, the TCP4 address block. */
export const INET_BLOCK = hex("c0000201 c6336414 9c40 0019");

/** Fills a CRC32C TLV value (already present, zeroed) at `at` with the right checksum. */
export function withCrc(h: Buffer, at: number, xor = 0): Buffer {
  const out = Buffer.from(h);
  out.writeUInt32BE(0, at);
  out.writeUInt32BE((crc32c(out) ^ xor) >>> 0, at);
  return out;
}
