/**
 * Authenticating a TLS peer with DANE (RFC 7672 3.1, RFC 7671 5): the chain the server
 * presented against the usable TLSA records. DANE-EE(3): the leaf matches, nothing else is
 * checked (no names, no dates, no chain). DANE-TA(2): some certificate the server sent
 * matches, the leaf chains up to it (issuer names, signatures, CA flags, dates of every
 * certificate below the anchor), and the leaf carries one of the reference names.
 * Pure apart from the caller's `now`.
 */
import { X509Certificate } from "node:crypto";
import { matchCertificate } from "./match";
import { matchName } from "./names";
import { Usage, type UsableTlsa } from "./tlsa";

/** Bounds the work a hostile server can cause: certificates considered and chain depth. */
export const MAX_PEER_CERTS = 16;
export const MAX_CHAIN_DEPTH = 8;

export interface PeerInput {
  /** DER certificates as the server sent them, the leaf first (order of the rest does not matter). */
  readonly chain: readonly Uint8Array[];
  readonly records: readonly UsableTlsa[];
  /** RFC 7672 3.2.2 reference identifiers for DANE-TA (see referenceNames). */
  readonly referenceNames: readonly string[];
  readonly now: Date;
}

export type PeerVerdict =
  | {
      readonly ok: true;
      /** The usage of the record that matched. */
      readonly usage: typeof Usage.daneEe | typeof Usage.daneTa;
      readonly record: UsableTlsa;
      /** Position of the matched certificate in the built chain (0: the leaf). */
      readonly depth: number;
      /** The reference name the leaf matched (DANE-TA only). */
      readonly name?: string;
    }
  | { readonly ok: false; readonly reason: string };

function parseAll(chain: readonly Uint8Array[]): X509Certificate[] | string {
  if (chain.length === 0) return "the server sent no certificate";
  const out: X509Certificate[] = [];
  for (const [i, der] of chain.slice(0, MAX_PEER_CERTS).entries()) {
    try {
      out.push(new X509Certificate(Buffer.from(der)));
    } catch {
      return `certificate ${i} does not parse`;
    }
  }
  return out;
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

function validAt(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom).getTime() <= now.getTime() && now.getTime() <= new Date(cert.validTo).getTime();
}

/** The path leaf → issuer → … built from the certificates the server sent (each used once). */
function buildPath(certs: readonly X509Certificate[]): X509Certificate[] {
  const [leaf, ...rest] = certs;
  if (leaf === undefined) return [];
  const path = [leaf];
  const pool = [...rest];
  while (path.length < MAX_CHAIN_DEPTH) {
    const top = path[path.length - 1] as X509Certificate;
    if (top.checkIssued(top) && issuedBy(top, top)) break; // self-signed: the path ends here
    const i = pool.findIndex((c) => issuedBy(top, c));
    if (i < 0) break;
    path.push(pool[i] as X509Certificate);
    pool.splice(i, 1);
  }
  return path;
}

/** Verifies the presented chain against the usable records; never throws. */
export function verifyPeer(input: PeerInput): PeerVerdict {
  const certs = parseAll(input.chain);
  if (typeof certs === "string") return { ok: false, reason: certs };
  const leaf = certs[0] as X509Certificate;
  const ee = input.records.filter((r) => r.usage === Usage.daneEe);
  const ta = input.records.filter((r) => r.usage === Usage.daneTa);

  // DANE-EE(3): the key or certificate is pinned; names and dates are ignored (RFC 7672 3.1.1).
  const eeHit = matchCertificate(leaf, ee);
  if (eeHit !== null) return { ok: true, usage: Usage.daneEe, record: eeHit, depth: 0 };
  if (ta.length === 0) return { ok: false, reason: "no DANE-EE TLSA record matches the server certificate" };

  // DANE-TA(2): the anchor must be among the certificates the server sent (RFC 7672 3.1.2).
  const path = buildPath(certs);
  let anchorDepth = -1;
  let anchor: UsableTlsa | null = null;
  for (let d = 1; d < path.length && anchor === null; d++) {
    anchor = matchCertificate(path[d] as X509Certificate, ta);
    if (anchor !== null) anchorDepth = d;
  }
  if (anchor === null) {
    const unchained = certs.slice(1).some((c) => matchCertificate(c, ta) !== null);
    return {
      ok: false,
      reason: unchained
        ? "a certificate matches a DANE-TA TLSA record but the server certificate does not chain to it"
        : ee.length > 0
          ? "no TLSA record matches the server's certificate chain"
          : "no DANE-TA TLSA record matches a certificate in the server's chain",
    };
  }
  for (let d = 1; d <= anchorDepth; d++) {
    if ((path[d] as X509Certificate).ca !== true) return { ok: false, reason: `certificate ${d} of the chain is not a CA certificate` };
  }
  // Dates are checked below the anchor; the anchor's own validity is the DNS's business (RFC 7671 5.2.2).
  for (let d = 0; d < anchorDepth; d++) {
    const c = path[d] as X509Certificate;
    if (!validAt(c, input.now)) return { ok: false, reason: `certificate ${d} of the chain is not valid now (${c.validFrom} .. ${c.validTo})` };
  }
  const name = matchName(leaf, input.referenceNames);
  if (name === null) {
    return { ok: false, reason: `DANE-TA: the server certificate matches none of the names ${input.referenceNames.join(", ") || "(none given)"}` };
  }
  return { ok: true, usage: Usage.daneTa, record: anchor, depth: anchorDepth, name };
}
