/**
 * TLSA records (RFC 6698 2.1, RFC 7218 acronyms) and which of them SMTP may use (RFC 7672
 * 3.1): DANE-TA(2) and DANE-EE(3) with selectors Cert(0)/SPKI(1) and matching types
 * Full(0)/SHA2-256(1)/SHA2-512(2). PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP, as are
 * unknown parameters and digests of the wrong length (RFC 7671 5.1: such records are ignored).
 * Pure.
 */
import { DaneRecordError } from "./errors";

export const Usage = { pkixTa: 0, pkixEe: 1, daneTa: 2, daneEe: 3 } as const;
export type Usage = (typeof Usage)[keyof typeof Usage];
export const Selector = { cert: 0, spki: 1 } as const;
export type Selector = (typeof Selector)[keyof typeof Selector];
export const MatchingType = { full: 0, sha256: 1, sha512: 2 } as const;
export type MatchingType = (typeof MatchingType)[keyof typeof MatchingType];

/** The shape @postern/dns returns; any object with these fields will do. */
export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Uint8Array;
}

/** A record SMTP can use: the fields narrowed to the usable values. */
export interface UsableTlsa extends TlsaRecord {
  readonly usage: typeof Usage.daneTa | typeof Usage.daneEe;
  readonly selector: Selector;
  readonly matchingType: MatchingType;
}

/** Why a record is unusable, for logs. */
export type UnusableReason = "pkix-usage" | "unknown-usage" | "unknown-selector" | "unknown-matching-type" | "bad-digest-length" | "empty-data";

export interface ClassifiedTlsa {
  readonly usable: UsableTlsa[];
  readonly unusable: Array<{ record: TlsaRecord; reason: UnusableReason }>;
}

/** Digest length per matching type; Full(0) has none (any non-empty data). */
const DIGEST_LENGTH: Readonly<Record<number, number>> = { [MatchingType.sha256]: 32, [MatchingType.sha512]: 64 };

/** Caps what we keep per record: a full certificate is a few KiB; more is junk. */
export const MAX_TLSA_DATA_BYTES = 16 * 1024;

function unusableReason(r: TlsaRecord): UnusableReason | null {
  if (r.usage === Usage.pkixTa || r.usage === Usage.pkixEe) return "pkix-usage";
  if (r.usage !== Usage.daneTa && r.usage !== Usage.daneEe) return "unknown-usage";
  if (r.selector !== Selector.cert && r.selector !== Selector.spki) return "unknown-selector";
  if (r.matchingType !== MatchingType.full && r.matchingType !== MatchingType.sha256 && r.matchingType !== MatchingType.sha512) {
    return "unknown-matching-type";
  }
  if (r.data.length === 0 || r.data.length > MAX_TLSA_DATA_BYTES) return "empty-data";
  const want = DIGEST_LENGTH[r.matchingType];
  if (want !== undefined && r.data.length !== want) return "bad-digest-length";
  return null;
}

/** Splits an RRset into usable and unusable records (Postfix's tls_dane.c keeps them apart too). */
export function classifyTlsa(records: readonly TlsaRecord[]): ClassifiedTlsa {
  const usable: UsableTlsa[] = [];
  const unusable: ClassifiedTlsa["unusable"] = [];
  for (const record of records) {
    const reason = unusableReason(record);
    if (reason === null) usable.push(record as UsableTlsa);
    else unusable.push({ record, reason });
  }
  return { usable, unusable };
}

/**
 * Exim's $tls_out_tlsa_usage: bit (1 << usage) set for each usage among the records given
 * (callers pass the usable ones, so 4 = DANE-TA only, 8 = DANE-EE only, 12 = both, 0 = none).
 */
export function usageBits(records: readonly TlsaRecord[]): number {
  let bits = 0;
  for (const r of records) if (Number.isInteger(r.usage) && r.usage >= 0 && r.usage < 31) bits |= 1 << r.usage;
  return bits;
}

/**
 * The TLSA RDATA wire form (RFC 6698 2.1): usage, selector, matching type (one octet each),
 * then the association data. Returns null when shorter than 3 octets.
 */
export function tlsaFromRdata(rdata: Uint8Array): TlsaRecord | null {
  if (rdata.length < 3) return null;
  return { usage: rdata[0] ?? 0, selector: rdata[1] ?? 0, matchingType: rdata[2] ?? 0, data: Buffer.from(rdata.subarray(3)) };
}

/** Presentation form (RFC 6698 2.2): `3 1 1 <hex>`, hex possibly split by white space. Throws DaneRecordError. */
export function parseTlsaText(text: string): TlsaRecord {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 4) throw new DaneRecordError(text, "expected usage, selector, matching type and data");
  const [u, s, m, ...hexParts] = fields;
  const octet = (v: string | undefined, what: string): number => {
    if (v === undefined || !/^\d{1,3}$/.test(v) || Number(v) > 255) throw new DaneRecordError(text, `${what} is not an octet`);
    return Number(v);
  };
  const hex = hexParts.join("");
  if (!/^(?:[0-9A-Fa-f]{2})+$/.test(hex)) throw new DaneRecordError(text, "data is not an even number of hex digits");
  return { usage: octet(u, "usage"), selector: octet(s, "selector"), matchingType: octet(m, "matching type"), data: Buffer.from(hex, "hex") };
}

/** `3 1 1 ab12…` for logs (data cut after 16 hex digits). */
export function formatTlsa(r: TlsaRecord): string {
  const hex = Buffer.from(r.data).toString("hex");
  return `${r.usage} ${r.selector} ${r.matchingType} ${hex.length > 16 ? `${hex.slice(0, 16)}…` : hex}`;
}
