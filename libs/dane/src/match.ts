/**
 * Certificate association data (RFC 6698 2.1.2-2.1.3) and matching one certificate against
 * TLSA records. Pure: certificates are DER bytes, hashing is node:crypto.
 */
import { createHash, timingSafeEqual, type X509Certificate } from "node:crypto";
import { MatchingType, Selector, type UsableTlsa } from "./tlsa";

/** The selected bytes: the whole certificate (Cert) or its SubjectPublicKeyInfo (SPKI), DER. */
export function selectedBytes(cert: X509Certificate, selector: Selector): Buffer {
  return selector === Selector.cert ? cert.raw : cert.publicKey.export({ type: "spki", format: "der" });
}

/** The association data a record with this selector and matching type would carry for `cert`. */
export function associationData(cert: X509Certificate, selector: Selector, matchingType: MatchingType): Buffer {
  const bytes = selectedBytes(cert, selector);
  if (matchingType === MatchingType.sha256) return createHash("sha256").update(bytes).digest();
  if (matchingType === MatchingType.sha512) return createHash("sha512").update(bytes).digest();
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The first record (in RRset order) whose data matches `cert`; null if none. */
export function matchCertificate(cert: X509Certificate, records: readonly UsableTlsa[]): UsableTlsa | null {
  const cache = new Map<string, Buffer>();
  for (const r of records) {
    const key = `${r.selector}/${r.matchingType}`;
    let data = cache.get(key);
    if (data === undefined) {
      data = associationData(cert, r.selector, r.matchingType);
      cache.set(key, data);
    }
    if (sameBytes(data, r.data)) return r;
  }
  return null;
}
