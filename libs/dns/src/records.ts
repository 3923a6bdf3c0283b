/** Typed views of answers: the record shapes returned by the convenience lookups. */
import type { DnsRecord, Outcome } from "./types";

export interface MxRecord {
  readonly preference: number;
  /** The exchange host, without trailing dot; "." for a null MX (RFC 7505). */
  readonly exchange: string;
}

export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  /** The certificate association data. */
  readonly data: Buffer;
}

/** Maps the records of an answer; failures pass through unchanged. */
export function mapOutcome<R>(outcome: Outcome<DnsRecord>, map: (record: DnsRecord) => R | undefined): Outcome<R> {
  if (outcome.kind !== "answer") return outcome;
  const records: R[] = [];
  for (const r of outcome.records) {
    const mapped = map(r);
    if (mapped !== undefined) records.push(mapped);
  }
  return { ...outcome, records };
}

export function addressOf(r: DnsRecord): string | undefined {
  return r.type === "A" || r.type === "AAAA" ? r.data : undefined;
}

export function mxOf(r: DnsRecord): MxRecord | undefined {
  return r.type === "MX" ? { preference: r.data.preference ?? 0, exchange: r.data.exchange } : undefined;
}

/**
 * The character-strings of one TXT record, each decoded as latin1: one character per octet,
 * so the bytes survive unchanged (`Buffer.from(s, "latin1")` gives them back; decode as UTF-8
 * there if a protocol wants it). This matches Node's own dns.resolveTxt. Callers that want
 * one string per record (SPF, DKIM, DMARC) join the strings with "".
 */
export function txtOf(r: DnsRecord): string[] | undefined {
  if (r.type !== "TXT") return undefined;
  const parts = Array.isArray(r.data) ? r.data : [r.data];
  return parts.map((p) => (typeof p === "string" ? p : p.toString("latin1")));
}

export function ptrOf(r: DnsRecord): string | undefined {
  return r.type === "PTR" ? r.data : undefined;
}

export function tlsaOf(r: DnsRecord): TlsaRecord | undefined {
  return r.type === "TLSA" ? { usage: r.data.usage, selector: r.data.selector, matchingType: r.data.matchingType, data: r.data.certificate } : undefined;
}

/**
 * The five outcomes the policy libraries (libspf, libdkim, libdmarc) are written
 * against; each declares the same union itself so that it does not depend on
 * this package.
 */
export type PolicyOutcome<T> =
  | { readonly kind: "answer"; readonly records: T }
  | { readonly kind: "nxdomain" }
  | { readonly kind: "nodata" }
  | { readonly kind: "servfail" }
  | { readonly kind: "timeout" };

/** REFUSED and local errors (bad response, network, CNAME loop) are servfail; an answer without records is nodata. */
export function toPolicyOutcome<R>(outcome: Outcome<R>): PolicyOutcome<readonly R[]> {
  switch (outcome.kind) {
    case "answer":
      return outcome.records.length === 0 ? { kind: "nodata" } : { kind: "answer", records: outcome.records };
    case "nxdomain":
    case "nodata":
    case "servfail":
    case "timeout":
      return { kind: outcome.kind };
    case "refused":
    case "error":
      return { kind: "servfail" };
  }
}
