/**
 * A minimal DER walker: finds the exact bytes that are hashed or signed (issuer name, public
 * key bits, tbsResponseData, certificates in a response), which a parse-and-re-encode round
 * trip could change. Strict: definite lengths only, minimal length octets, low tag numbers,
 * every element inside its parent.
 */
import { createHash } from "node:crypto";

export interface Tlv {
  /** the identifier octet (class, constructed bit, tag number < 31) */
  tag: number;
  /** offset of the identifier octet */
  start: number;
  /** offset of the first content octet */
  contentStart: number;
  /** offset just past the element */
  end: number;
}

export const TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  enumerated: 0x0a,
  sequence: 0x30,
  context0: 0xa0,
  context1: 0xa1,
  context2: 0xa2,
  context3: 0xa3,
} as const;

export class DerError extends Error {
  override readonly name = "DerError";
}

/** The element at `offset`, which must end by `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit: number = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated element at ${offset}`);
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag number at ${offset}`);
  let length = buf[offset + 1] as number;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0) throw new DerError(`indefinite length at ${offset}`);
    if (n > 4) throw new DerError(`length of ${n} octets at ${offset}`);
    if (contentStart + n > limit) throw new DerError(`truncated length at ${offset}`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (buf[contentStart + i] as number);
    if (buf[contentStart] === 0 || length < 0x80) throw new DerError(`non-minimal length at ${offset}`);
    contentStart += n;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`element at ${offset} overruns its parent`);
  return { tag, start: offset, contentStart, end };
}

/** The single top-level element of `buf`; trailing bytes are an error. */
export function readOnly(buf: Uint8Array, tag: number): Tlv {
  const tlv = readTlv(buf, 0);
  if (tlv.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, got 0x${tlv.tag.toString(16)}`);
  if (tlv.end !== buf.length) throw new DerError(`${buf.length - tlv.end} trailing bytes`);
  return tlv;
}

/** The elements inside a constructed element. */
export function children(buf: Uint8Array, parent: Tlv, max = 64): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    if (out.length >= max) throw new DerError(`more than ${max} elements`);
    const tlv = readTlv(buf, at, parent.end);
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

/** The child at `index`, which must carry `tag`. */
export function child(list: Tlv[], index: number, tag: number, what: string): Tlv {
  const tlv = list[index];
  if (tlv?.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return tlv;
}

export const whole = (buf: Uint8Array, tlv: Tlv): Buffer => Buffer.from(buf.subarray(tlv.start, tlv.end));
export const content = (buf: Uint8Array, tlv: Tlv): Buffer => Buffer.from(buf.subarray(tlv.contentStart, tlv.end));

/** The bits of a BIT STRING with no unused bits (keys and signatures). */
export function bitStringBytes(buf: Uint8Array, tlv: Tlv): Buffer {
  const c = content(buf, tlv);
  if (c.length === 0 || c[0] !== 0) throw new DerError("BIT STRING with unused bits");
  return c.subarray(1);
}

export const sha1 = (data: Uint8Array): Buffer => createHash("sha1").update(data).digest();

/** Hex of an INTEGER's content octets, without the sign octet a positive serial may carry. */
export function serialHex(bytes: Uint8Array): string {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return Buffer.from(bytes.subarray(i)).toString("hex").toUpperCase();
}
