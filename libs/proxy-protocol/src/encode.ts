/**
 * Encoders for tests and for our outbound side. TLVs go out in haproxy 2.6's
 * order (CRC32C, ALPN, AUTHORITY, UNIQUE_ID, SSL{VERSION, CN, KEY_ALG,
 * SIG_ALG, CIPHER}, NETNS), then unknown TLVs, then NOOPs.
 */
import { crc32c } from "./crc32c";
import { ProxyEncodeError } from "./errors";
import { formatIPv6, parseIPv4, parseIPv6 } from "./ip";
import {
  tlvTypes,
  UNIQUE_ID_MAX_LENGTH,
  UNIX_PATH_LENGTH,
  V2_FIXED_LENGTH,
  V2_MAX_LENGTH,
  V2_SIGNATURE,
  type ProxyCommand,
  type ProxyEndpoint,
  type ProxyFamily,
  type ProxyRawTlv,
  type ProxyTransport,
} from "./types";

export interface ProxySslInit {
  client: number;
  verify?: number;
  version?: string;
  cn?: string;
  cipher?: string;
  sigAlg?: string;
  keyAlg?: string;
  unknown?: ProxyRawTlv[];
}

export interface ProxyTlvsInit {
  alpn?: Buffer | string;
  authority?: string;
  /** Any truthy value adds a CRC32C TLV (computed, never copied). */
  crc32c?: boolean | { value: number };
  uniqueId?: Buffer | string;
  ssl?: ProxySslInit;
  netns?: string;
  /** Number of empty NOOP TLVs. */
  noop?: number;
  unknown?: ProxyRawTlv[];
}

/** What the encoders take; a parsed ProxyHeader is one. */
export interface ProxyHeaderInit {
  command?: ProxyCommand;
  family: ProxyFamily;
  transport?: ProxyTransport;
  source?: ProxyEndpoint;
  destination?: ProxyEndpoint;
  unixSource?: string;
  unixDestination?: string;
  tlvs?: ProxyTlvsInit;
}

export interface EncodeV2Options {
  /** Add a CRC32C TLV even when header.tlvs.crc32c is absent. */
  crc32c?: boolean;
  /** Append a NOOP TLV so that the header is exactly this many bytes. */
  padTo?: number;
}

function tlv(type: number, value: Buffer | string): Buffer {
  const v = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  if (v.length > 0xffff) throw new ProxyEncodeError(`TLV 0x${type.toString(16)} longer than 65535 bytes`);
  const out = Buffer.alloc(3 + v.length);
  out[0] = type;
  out.writeUInt16BE(v.length, 1);
  v.copy(out, 3);
  return out;
}

function port(p: number): number {
  if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new ProxyEncodeError(`bad port ${p}`);
  return p;
}

function endpoints(h: ProxyHeaderInit): [ProxyEndpoint, ProxyEndpoint] {
  if (!h.source || !h.destination) throw new ProxyEncodeError(`${h.family} needs source and destination`);
  return [h.source, h.destination];
}

function ipBytes(family: "TCP4" | "TCP6", address: string, out: Buffer, off: number): void {
  const ok = family === "TCP4" ? parseIPv4(address, out, off) : parseIPv6(address, out, off);
  if (!ok) throw new ProxyEncodeError(`bad ${family} address ${JSON.stringify(address)}`);
}

function addressBlock(h: ProxyHeaderInit): Buffer {
  if (h.family === "TCP4" || h.family === "TCP6") {
    const n = h.family === "TCP4" ? 4 : 16;
    const [src, dst] = endpoints(h);
    const out = Buffer.alloc(2 * n + 4);
    ipBytes(h.family, src.address, out, 0);
    ipBytes(h.family, dst.address, out, n);
    out.writeUInt16BE(port(src.port), 2 * n);
    out.writeUInt16BE(port(dst.port), 2 * n + 2);
    return out;
  }
  if (h.family === "UNIX") {
    const out = Buffer.alloc(2 * UNIX_PATH_LENGTH);
    [h.unixSource ?? "", h.unixDestination ?? ""].forEach((path, k) => {
      const bytes = Buffer.from(path, "utf8");
      if (bytes.length > UNIX_PATH_LENGTH || bytes.includes(0)) throw new ProxyEncodeError("bad AF_UNIX path");
      bytes.copy(out, k * UNIX_PATH_LENGTH);
    });
    return out;
  }
  return Buffer.alloc(0);
}

function familyByte(h: ProxyHeaderInit): number {
  const fam = { TCP4: 1, TCP6: 2, UNIX: 3, UNSPEC: 0, UNKNOWN: 0 }[h.family];
  if (fam === 0) return 0;
  return (fam << 4) | (h.transport === "DGRAM" ? 2 : 1);
}

function sslTlv(ssl: ProxySslInit): Buffer {
  const head = Buffer.alloc(5);
  head[0] = ssl.client & 0xff;
  head.writeUInt32BE((ssl.verify ?? 0) >>> 0, 1);
  const subs: [number, string | undefined][] = [
    [tlvTypes.sslVersion, ssl.version],
    [tlvTypes.sslCn, ssl.cn],
    [tlvTypes.sslKeyAlg, ssl.keyAlg],
    [tlvTypes.sslSigAlg, ssl.sigAlg],
    [tlvTypes.sslCipher, ssl.cipher],
  ];
  const parts: Buffer[] = [head];
  for (const [t, v] of subs) if (v !== undefined) parts.push(tlv(t, v));
  for (const u of ssl.unknown ?? []) parts.push(tlv(u.type, u.value));
  return tlv(tlvTypes.ssl, Buffer.concat(parts));
}

function tlvList(t: ProxyTlvsInit): Buffer[] {
  const out: Buffer[] = [];
  if (t.alpn !== undefined) out.push(tlv(tlvTypes.alpn, t.alpn));
  if (t.authority !== undefined) out.push(tlv(tlvTypes.authority, t.authority));
  if (t.uniqueId !== undefined) {
    const id = tlv(tlvTypes.uniqueId, t.uniqueId);
    if (id.length - 3 > UNIQUE_ID_MAX_LENGTH) throw new ProxyEncodeError("unique id longer than 128 bytes");
    out.push(id);
  }
  if (t.ssl) out.push(sslTlv(t.ssl));
  if (t.netns !== undefined) out.push(tlv(tlvTypes.netns, t.netns));
  for (const u of t.unknown ?? []) out.push(tlv(u.type, u.value));
  for (let k = 0; k < (t.noop ?? 0); k++) out.push(tlv(tlvTypes.noop, Buffer.alloc(0)));
  return out;
}

/** A v2 header. UNKNOWN (v1) is sent as AF_UNSPEC. */
export function encodeProxyHeaderV2(header: ProxyHeaderInit, options: EncodeV2Options = {}): Buffer {
  const t = header.tlvs ?? {};
  const withCrc = Boolean(options.crc32c || t.crc32c);
  const parts = [addressBlock(header)];
  if (withCrc) parts.push(tlv(tlvTypes.crc32c, Buffer.alloc(4)));
  parts.push(...tlvList(t));
  let length = parts.reduce((n, p) => n + p.length, 0);
  if (options.padTo !== undefined && options.padTo !== V2_FIXED_LENGTH + length) {
    const pad = options.padTo - V2_FIXED_LENGTH - length - 3;
    if (pad < 0) throw new ProxyEncodeError(`padTo ${options.padTo} is below the header's own size`);
    parts.push(tlv(tlvTypes.noop, Buffer.alloc(pad)));
    length += pad + 3;
  }
  if (V2_FIXED_LENGTH + length > V2_MAX_LENGTH) throw new ProxyEncodeError("v2 header longer than 65551 bytes");
  const fixed = Buffer.alloc(V2_FIXED_LENGTH);
  V2_SIGNATURE.copy(fixed);
  fixed[12] = header.command === "LOCAL" ? 0x20 : 0x21;
  fixed[13] = familyByte(header);
  fixed.writeUInt16BE(length, 14);
  const out = Buffer.concat([fixed, ...parts]);
  if (withCrc) {
    const at = V2_FIXED_LENGTH + parts[0]!.length + 3;
    out.writeUInt32BE(crc32c(out), at);
  }
  return out;
}

/**
 * A v1 line. TCP4/TCP6 with PROXY are written out with canonical addresses;
 * LOCAL, UNSPEC, UNIX and UNKNOWN become "PROXY UNKNOWN", the v1 way of saying
 * "use the connection's own addresses".
 */
export function encodeProxyHeaderV1(header: ProxyHeaderInit): Buffer {
  const f = header.family;
  if (header.command === "LOCAL" || (f !== "TCP4" && f !== "TCP6")) return Buffer.from("PROXY UNKNOWN\r\n", "latin1");
  const [src, dst] = endpoints(header);
  const text = (a: string): string => {
    const bytes = Buffer.alloc(16);
    ipBytes(f, a, bytes, 0);
    return f === "TCP4" ? a : formatIPv6(bytes);
  };
  const line = `PROXY ${f} ${text(src.address)} ${text(dst.address)} ${port(src.port)} ${port(dst.port)}\r\n`;
  return Buffer.from(line, "latin1");
}
