/**
 * v2 TLV vectors (proxy-protocol.txt section 2.2): type u8, length u16 BE,
 * value. Known types are decoded and checked; a TLV that overruns, repeats or
 * carries an invalid value fails the whole header.
 */
import { isUtf8 } from "node:buffer";
import { ProxyBadTlvError, ProxyUniqueIdTooLongError, type ProxyProtocolError } from "./errors";
import { tlvTypes, UNIQUE_ID_MAX_LENGTH, type ProxyRawTlv, type ProxySslInfo, type ProxyTlvs } from "./types";

type Visit = (type: number, start: number, end: number, at: number) => ProxyProtocolError | undefined;

/** Calls visit for each TLV in h[start, end); stops at the first error. */
function walk(h: Buffer, start: number, end: number, visit: Visit): ProxyProtocolError | undefined {
  let i = start;
  while (i < end) {
    const type = h[i]!;
    if (end - i < 3) return new ProxyBadTlvError(type, "truncated TLV header", i);
    const v = i + 3;
    const next = v + h.readUInt16BE(i + 1);
    if (next > end) return new ProxyBadTlvError(type, `TLV 0x${hex(type)} overruns its container`, i);
    const err = visit(type, v, next, i);
    if (err) return err;
    i = next;
  }
  return undefined;
}

function hex(type: number): string {
  return type.toString(16).padStart(2, "0");
}

function ascii(h: Buffer, start: number, end: number): string | undefined {
  for (let i = start; i < end; i++) if (h[i]! > 0x7f) return undefined;
  return h.toString("latin1", start, end);
}

function utf8(h: Buffer, start: number, end: number): string | undefined {
  const v = h.subarray(start, end);
  return isUtf8(v) ? v.toString("utf8") : undefined;
}

const copy = (h: Buffer, start: number, end: number): Buffer => Buffer.from(h.subarray(start, end));

const sslStrings = {
  [tlvTypes.sslVersion]: ["version", ascii],
  [tlvTypes.sslCn]: ["cn", utf8],
  [tlvTypes.sslCipher]: ["cipher", ascii],
  [tlvTypes.sslSigAlg]: ["sigAlg", ascii],
  [tlvTypes.sslKeyAlg]: ["keyAlg", ascii],
} as const;

function parseSsl(h: Buffer, start: number, end: number, at: number): ProxySslInfo | ProxyProtocolError {
  if (end - start < 5) return new ProxyBadTlvError(tlvTypes.ssl, "SSL TLV shorter than 5 bytes", at);
  const ssl: ProxySslInfo = { client: h[start]!, verify: h.readUInt32BE(start + 1), unknown: [] };
  const err = walk(h, start + 5, end, (type, s, e, subAt) => {
    const known = (sslStrings as Partial<Record<number, (typeof sslStrings)[keyof typeof sslStrings]>>)[type];
    if (!known) {
      ssl.unknown.push({ type, value: copy(h, s, e) });
      return undefined;
    }
    const [field, decode] = known;
    if (ssl[field] !== undefined) return new ProxyBadTlvError(type, `duplicate SSL sub-TLV 0x${hex(type)}`, subAt);
    const text = decode(h, s, e);
    if (text === undefined) return new ProxyBadTlvError(type, `SSL sub-TLV 0x${hex(type)} is not valid text`, subAt);
    ssl[field] = text;
    return undefined;
  });
  return err ?? ssl;
}

export interface TlvParse {
  tlvs: ProxyTlvs;
  /** Offset of the CRC32C value in the header, when one was present. */
  crcOffset?: number;
}

function duplicate(type: number, at: number): ProxyBadTlvError {
  return new ProxyBadTlvError(type, `duplicate TLV 0x${hex(type)}`, at);
}

/** Decodes the TLVs in h[start, end). The CRC itself is checked by the caller. */
export function parseTlvs(h: Buffer, start: number, end: number): TlvParse | ProxyProtocolError {
  const tlvs: ProxyTlvs = { noop: 0, unknown: [] };
  const out: TlvParse = { tlvs };
  const err = walk(h, start, end, (type, s, e, at) => {
    switch (type) {
      case tlvTypes.alpn:
        if (tlvs.alpn) return duplicate(type, at);
        tlvs.alpn = copy(h, s, e);
        return undefined;
      case tlvTypes.authority: {
        if (tlvs.authority !== undefined) return duplicate(type, at);
        const text = utf8(h, s, e);
        if (text === undefined) return new ProxyBadTlvError(type, "AUTHORITY is not valid UTF-8", at);
        tlvs.authority = text;
        return undefined;
      }
      case tlvTypes.crc32c:
        if (out.crcOffset !== undefined) return duplicate(type, at);
        if (e - s !== 4) return new ProxyBadTlvError(type, "CRC32C TLV is not 4 bytes", at);
        out.crcOffset = s;
        tlvs.crc32c = { value: h.readUInt32BE(s), verified: true };
        return undefined;
      case tlvTypes.noop:
        tlvs.noop++;
        return undefined;
      case tlvTypes.uniqueId:
        if (tlvs.uniqueId) return duplicate(type, at);
        if (e - s > UNIQUE_ID_MAX_LENGTH) return new ProxyUniqueIdTooLongError(e - s, at);
        tlvs.uniqueId = copy(h, s, e);
        return undefined;
      case tlvTypes.ssl: {
        if (tlvs.ssl) return duplicate(type, at);
        const ssl = parseSsl(h, s, e, at);
        if (ssl instanceof Error) return ssl;
        tlvs.ssl = ssl;
        return undefined;
      }
      case tlvTypes.netns: {
        if (tlvs.netns !== undefined) return duplicate(type, at);
        const text = ascii(h, s, e);
        if (text === undefined) return new ProxyBadTlvError(type, "NETNS is not US-ASCII", at);
        tlvs.netns = text;
        return undefined;
      }
      default:
        tlvs.unknown.push({ type, value: copy(h, s, e) } satisfies ProxyRawTlv);
        return undefined;
    }
  });
  return err ?? out;
}
