/**
 * Verification of a response for one certificate (RFC 6960 3.2 and 4.2.2.2): who signed it,
 * whether the signature holds, whether it answers for our certificate, and whether it is
 * current. Every failure throws a named OcspError; evaluateResponse turns them into a verdict.
 */
import { createHash } from "node:crypto";
import { id_kp_OCSPSigning, type SingleResponse } from "@peculiar/asn1-ocsp";
import { CRLReasons } from "@peculiar/asn1-x509";
import { type CertInfo, type CertPair, parseCertificate } from "./certs";
import { serialHex, sha1 } from "./der";
import {
  OcspBadSignatureError,
  OcspCertIdMismatchError,
  OcspCertificateError,
  OcspExpiredError,
  OcspMalformedError,
  OcspNoNextUpdateError,
  OcspNonceMismatchError,
  OcspNotYetValidError,
  OcspSignerValidityError,
  OcspStaleError,
  OcspUnauthorizedSignerError,
} from "./errors";
import { parseResponse, type ParsedResponse } from "./response";
import { verifySignature } from "./signature";

/** Allowed clock difference for thisUpdate/producedAt in the future (RFC 5019 4: a few minutes). */
export const DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000;

export const CertStatus = { good: "good", revoked: "revoked", unknown: "unknown" } as const;
export type CertStatus = (typeof CertStatus)[keyof typeof CertStatus];

export interface VerifyOptions {
  now: Date;
  maxSkewMs?: number;
  /** the `nonce` of the request: a response nonce must equal it (a response without one is accepted) */
  nonce?: Uint8Array;
  maxResponseBytes?: number;
  /** the thisUpdate of the response already held: an older one is a replay (OcspStaleError) */
  notOlderThan?: Date;
}

export interface SignerInfo {
  kind: "issuer" | "delegated";
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export interface VerifiedResponse {
  der: Buffer;
  status: CertStatus;
  thisUpdate: Date;
  nextUpdate: Date;
  producedAt: Date;
  revocationTime?: Date;
  /** CRLReason name, e.g. "keyCompromise" */
  revocationReason?: string;
  signer: SignerInfo;
}

const HASHES: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

function matchesResponderId(parsed: ParsedResponse, cert: CertInfo): boolean {
  const { byName, byKey } = parsed.responderId;
  if (byName !== undefined) return byName.equals(cert.subjectDer);
  return byKey !== undefined && byKey.equals(sha1(cert.publicKeyBits));
}

/** The issuer itself, or a certificate from the response that the issuer authorized (4.2.2.2). */
function findSigner(parsed: ParsedResponse, pair: CertPair): { cert: CertInfo; kind: SignerInfo["kind"] } {
  if (matchesResponderId(parsed, pair.issuer)) return { cert: pair.issuer, kind: "issuer" };
  let reason = "no certificate in the response matches the responder id";
  for (const der of parsed.certs) {
    let cert: CertInfo;
    try {
      cert = parseCertificate(der, "issuer");
    } catch (err) {
      if (err instanceof OcspCertificateError) throw new OcspMalformedError(`response certificate: ${err.message}`, { cause: err });
      throw err;
    }
    if (!matchesResponderId(parsed, cert)) continue;
    let issued = cert.issuerNameDer.equals(pair.issuer.subjectDer);
    try {
      issued &&= cert.x509.verify(pair.issuer.x509.publicKey);
    } catch {
      issued = false;
    }
    if (!issued) {
      reason = `signer ${cert.subject} is not issued by ${pair.issuer.subject}`;
      continue;
    }
    if (!(cert.extKeyUsage ?? []).includes(id_kp_OCSPSigning)) {
      reason = `signer ${cert.subject} lacks extended key usage id-kp-OCSPSigning`;
      continue;
    }
    return { cert, kind: "delegated" };
  }
  throw new OcspUnauthorizedSignerError(reason);
}

function findSingle(parsed: ParsedResponse, pair: CertPair): SingleResponse {
  const answered: string[] = [];
  for (const single of parsed.data.responses) {
    const id = single.certID;
    const serial = serialHex(new Uint8Array(id.serialNumber));
    answered.push(serial);
    const hash = HASHES[id.hashAlgorithm.algorithm];
    if (hash === undefined || serial !== pair.serialHex) continue;
    const nameHash = createHash(hash).update(pair.issuer.subjectDer).digest();
    const keyHash = createHash(hash).update(pair.issuer.publicKeyBits).digest();
    if (nameHash.equals(Buffer.from(id.issuerNameHash.buffer)) && keyHash.equals(Buffer.from(id.issuerKeyHash.buffer))) return single;
  }
  throw new OcspCertIdMismatchError(pair.serialHex, answered);
}

/** Throws an OcspError unless `der` is a current, authentic answer for `pair.leaf`. */
export function verifyResponse(der: Uint8Array, pair: CertPair, opts: VerifyOptions): VerifiedResponse {
  const now = opts.now;
  const skew = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const parsed = parseResponse(der, opts.maxResponseBytes);
  const { cert, kind } = findSigner(parsed, pair);
  if (!verifySignature(parsed.signatureAlgorithm, parsed.tbsRaw, parsed.signature, cert.x509.publicKey)) {
    throw new OcspBadSignatureError(cert.subject);
  }
  const single = findSingle(parsed, pair);
  const { thisUpdate, nextUpdate } = single;
  const producedAt = parsed.data.producedAt;
  if (thisUpdate.getTime() > now.getTime() + skew) throw new OcspNotYetValidError("thisUpdate", thisUpdate, now);
  if (producedAt.getTime() > now.getTime() + skew) throw new OcspNotYetValidError("producedAt", producedAt, now);
  if (nextUpdate === undefined) throw new OcspNoNextUpdateError();
  if (nextUpdate.getTime() <= thisUpdate.getTime()) throw new OcspMalformedError("nextUpdate is not after thisUpdate");
  if (nextUpdate.getTime() <= now.getTime()) throw new OcspExpiredError(nextUpdate, now);
  if (opts.notOlderThan !== undefined && thisUpdate.getTime() < opts.notOlderThan.getTime()) {
    throw new OcspStaleError(thisUpdate, opts.notOlderThan);
  }
  // The seed's failure mode: a signer that expires before the response does is no signer at all.
  const from = Math.min(thisUpdate.getTime(), now.getTime());
  const until = Math.max(nextUpdate.getTime(), now.getTime());
  if (cert.notBefore.getTime() > from || cert.notAfter.getTime() < until) {
    throw new OcspSignerValidityError(cert.subject, cert.notBefore, cert.notAfter, new Date(from), new Date(until));
  }
  if (opts.nonce !== undefined && parsed.nonce !== undefined && !parsed.nonce.equals(opts.nonce)) {
    throw new OcspNonceMismatchError();
  }
  const signer: SignerInfo = { kind, subject: cert.subject, notBefore: cert.notBefore, notAfter: cert.notAfter };
  const result: VerifiedResponse = { der: Buffer.from(der), status: CertStatus.unknown, thisUpdate, nextUpdate, producedAt, signer };
  const status = single.certStatus;
  if (status.good !== undefined) {
    result.status = CertStatus.good;
  } else if (status.revoked !== undefined) {
    result.status = CertStatus.revoked;
    result.revocationTime = status.revoked.revocationTime;
    const reason = status.revoked.revocationReason?.reason;
    if (reason !== undefined) result.revocationReason = CRLReasons[reason] ?? `reason ${reason}`;
  } else if (status.unknown === undefined) {
    throw new OcspMalformedError("certStatus is none of good, revoked, unknown");
  }
  return result;
}
