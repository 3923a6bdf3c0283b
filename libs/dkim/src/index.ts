/**
 * @postern/dkim: DomainKeys Identified Mail as pure logic, no sockets.
 * `verifyMessage` checks every DKIM-Signature of a message against keys found
 * through an injected resolver (DkimDns: libs/dns's Resolver fits as it is)
 * and returns one DkimResult per signature, topmost first, with reason, code
 * and the Authentication-Results fragment (header.d/i/s/a/b); an unsigned
 * message gives [] (`dkimAuthResults` turns that into `dkim=none`).
 * `signMessage`, `signStream` and `DkimSigner` produce the DKIM-Signature field
 * for outbound mail. The body is hashed as it streams (canon.ts), so a 20 MB
 * message is never held twice; a stream is read no further than needed (only
 * the header section when nothing is to be verified). `createDkimZone` is an
 * in-memory resolver for tests, tools and benchmarks.
 *
 * Results (types.ts `dkimResults`): pass; fail (body hash or signature);
 * permerror (malformed signature, missing, revoked or unfit key, bad key
 * record); temperror (key lookup failed, resolver threw); policy (rsa-sha1
 * unless `allowSha1`, RSA key below `minRsaBits`, default 1024); neutral (x=
 * passed, t= more than `clockSkew` ahead, default 10 h as dkimpy, or past
 * `maxSignatures`). Bare LF line ends are read as CRLF, as dkimpy and most
 * verifiers do for messages stored with Unix line ends.
 *
 * STANDARDS: RFC 6376 (DKIM: tag lists, simple and relaxed canonicalisation,
 * l=, h= with over-signing, x=/t=, key records v= k= h= s= t=y/s p=), RFC 8301
 * (rsa-sha1 refused by default, RSA keys below 1024 bits refused), RFC 8463
 * (ed25519-sha256), RFC 6008 (header.b), RFC 8601 (Authentication-Results).
 * Key records in SubjectPublicKeyInfo and bare PKCS#1 form; Ed25519 keys raw
 * (RFC 8463) or SPKI. Signing: rsa-sha256 and ed25519-sha256 only.
 *
 * SECURITY: the message, the DKIM-Signature fields and the key records are
 * hostile. The header section is bounded (maxHeaderBytes, default 1 MiB),
 * signatures per message are bounded (maxSignatures, default 10), key lookups
 * are de-duplicated per message, tag lists are parsed by a linear scanner
 * (tags.ts) with no regular expression that can backtrack, values are
 * length-checked, key records over 8 KiB are refused, parsed keys are cached
 * in a bounded map, and reasons and header fragments never echo more than a
 * short sanitised detail.
 *
 * DIAGNOSTICS: nothing is logged. Each result carries `reason` and a stable
 * `code` (errors.ts). Only DkimOptionsError and DkimSignError are thrown, and
 * verifyMessage rejects only for bad options or a failing message stream.
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
