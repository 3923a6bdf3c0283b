/**
 * @postern/dkim: DomainKeys Identified Mail as pure logic, no sockets.
 * `verifyMessage` checks every DKIM-Signature of a message against keys found
 * through an injected resolver (DkimDns: libs/dns's Resolver fits) and returns
 * one DkimResult per signature, with the Authentication-Results fragment.
 * `signMessage`/`signStream` produce a DKIM-Signature field for outbound mail.
 * The body is hashed as it streams (canon.ts: update/digest objects per
 * canonicalisation), so a 20 MB message is never held twice.
 *
 * STANDARDS: RFC 6376 (DKIM: tag lists, simple and relaxed canonicalisation,
 * l=, h= with over-signing, x=/t=, key records v= k= h= s= t=y/s p=), RFC 8301
 * (rsa-sha1 refused by default, RSA keys below 1024 bits refused), RFC 8463
 * (ed25519-sha256), RFC 6008 (header.b), RFC 8601 (Authentication-Results).
 * Key records in SubjectPublicKeyInfo and bare PKCS#1 form.
 *
 * SECURITY: the message, the DKIM-Signature fields and the key records are
 * hostile. The header section is bounded (maxHeaderBytes), signatures per
 * message are bounded (maxSignatures), key lookups are de-duplicated, tag
 * lists are parsed by a linear scanner (tags.ts) with no regular expression
 * that can backtrack, values are length-checked, and reasons never echo more
 * than a short sanitised detail.
 *
 * DIAGNOSTICS: nothing is logged. Each result carries `reason` and a stable
 * `code` (errors.ts). Only DkimOptionsError and DkimSignError are thrown.
 */
export {
  type Canonicalization,
  type CanonicalizationPair,
  type DkimAlgorithm,
  dkimAlgorithms,
  type DkimDns,
  type DkimResult,
  type DkimResultKind,
  dkimResults,
  type DkimSignAlgorithm,
  type DkimTxtOutcome,
  type MessageSource,
  type SignOptions,
  type VerifyOptions,
} from "./types";
export { DkimError, type DkimErrorCode, dkimErrorCodes, DkimOptionsError, DkimSignError, DkimVerifyError } from "./errors";
export { dkimAuthResults, verifyMessage } from "./verify";
export { DEFAULT_SIGNED_HEADERS, signMessage, signStream } from "./sign";
export { DkimSigner } from "./sign";
export { parseTagList, type Tag, type TagListParse } from "./tags";
export { type DkimKey, parseKeyRecord, type KeyParse } from "./key";
export { type ParsedSignature, parseSignature, type SignatureParse } from "./signature";
export { createDkimZone, type DkimZone, type DkimZoneEntry, type DkimZoneRecord } from "./testing/zone";
export { DEFAULT_CLOCK_SKEW, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_SIGNATURES, DEFAULT_MIN_RSA_BITS } from "./verify";
