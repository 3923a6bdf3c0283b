/**
 * Reference identifiers for DANE-TA(2) (RFC 7672 3.2.2) and the name check (RFC 7672 3.2.3,
 * RFC 6125 6.4): DNS-ID subjectAltNames, the subject CN only when there is no DNS-ID, a
 * wildcard only as the complete left-most label matching exactly one label. The matching is
 * OpenSSL's X509_check_host through X509Certificate.checkHost with partial and multi-label
 * wildcards off. Pure.
 */
import type { X509Certificate } from "node:crypto";

/** A DNS name in the form we compare: lower case, no trailing dot. */
export function normalName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith(".") && n.length > 1 ? n.slice(0, -1) : n;
}

/**
 * RFC 7672 3.2.2: the TLSA base domain (the MX host name after secure CNAME expansion, or
 * its original name) and the MX host name as given; callers may add the next-hop domain.
 * Duplicates and empty names are dropped; order is kept.
 */
export function referenceNames(...names: ReadonlyArray<string | undefined>): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (n === undefined) continue;
    const v = normalName(n);
    if (v.length > 0 && v !== "." && !out.includes(v)) out.push(v);
  }
  return out;
}

/** The reference name the certificate matches, or null. Names with a `*` never match as references. */
export function matchName(cert: X509Certificate, references: readonly string[]): string | null {
  for (const given of references) {
    const ref = normalName(given);
    if (ref.length === 0 || ref.includes("*")) continue;
    const hit = cert.checkHost(ref, { wildcards: true, partialWildcards: false, multiLabelWildcards: false, singleLabelSubdomains: false, subject: "default" });
    if (hit !== undefined) return ref;
  }
  return null;
}
