/**
 * @postern/ocsp — OCSP requests and responses for stapling, pure (no sockets, no clock).
 *
 * What it does: prepareCertificates checks that a leaf was issued by the given issuer (name
 * and signature) and derives the CertID parts and the leaf's AIA OCSP URLs; buildRequest
 * encodes a request for it (SHA-1 CertID, optional nonce); evaluateResponse verifies a
 * response against the pair and a caller-supplied `now` and answers good / revoked / unknown
 * with the verified times, or invalid with a stable code. verifyResponse is the throwing form.
 *
 * STANDARDS: RFC 6960 (OCSP: 4.1 requests, 4.2 responses, 4.2.2.2 authorized responders,
 * 3.2 checks), RFC 5019 (lightweight profile: SHA-1 CertID, no nonce by default, clock skew),
 * RFC 8954 (nonce of 1-32 octets), RFC 5280 (certificates, extended key usage, AIA).
 *
 * SECURITY: responses are hostile input: they come over plain HTTP from a URL inside a
 * certificate, and anyone on the path can change them. A response is used only when all
 * of these hold: at most maxResponseBytes (64 KiB by default) of strict DER with no
 * trailing bytes and bounded counts (8 certificates, 64 answers, 16 extensions, no unknown
 * critical extension); responseStatus successful and type id-pkix-ocsp-basic; signed (SHA-2
 * ECDSA/RSA or EdDSA; SHA-1 and unknown algorithms refused) over the received
 * tbsResponseData bytes by the issuer itself or by a certificate in the response that
 * matches the responder id, is signed by the issuer under the issuer's exact name and
 * carries id-kp-OCSPSigning; the signer certificate valid over the whole of thisUpdate ..
 * nextUpdate and now (the seed's fetch script accepted a signer that expired first); an
 * answer whose CertID hashes and serial match our pair; thisUpdate and producedAt not more
 * than maxSkewMs (5 min) ahead of now; nextUpdate present, after thisUpdate and after now;
 * thisUpdate not older than the response already held (notOlderThan, against replays);
 * when a nonce was sent, a response nonce equal to it (responses without one are accepted,
 * as caching responders send none). Delegated signers are not checked for revocation
 * (id-pkix-ocsp-nocheck, RFC 6960 4.2.2.2.1). Certificates given to prepareCertificates
 * are capped at 16 KiB each and checked to belong together.
 *
 * DIAGNOSTICS: no logging. evaluateResponse returns `{ kind: "invalid", code, reason }` with
 * a code from OcspErrorCode (POSTERN_OCSP_BAD_SIGNATURE, _UNAUTHORIZED_SIGNER,
 * _SIGNER_VALIDITY, _CERT_ID_MISMATCH, _NOT_YET_VALID, _EXPIRED, _NO_NEXT_UPDATE, _STALE,
 * _NONCE_MISMATCH, _RESPONDER_STATUS, _UNSUPPORTED_ALGORITHM, _MALFORMED, _TOO_LARGE,
 * _INTERNAL); the classes in errors.ts carry the typed context (times, signer, serials).
 * prepareCertificates throws OcspCertificateError (POSTERN_OCSP_BAD_CERTIFICATE).
 */
export { type CertInfo, type CertPair, MAX_CERT_BYTES, parseCertificate, prepareCertificates } from "./certs";
export { buildRequest, MAX_NONCE_BYTES, NONCE_BYTES, type OcspRequest } from "./request";
export { MAX_RESPONSE_BYTES, MAX_RESPONSE_CERTS, MAX_SINGLE_RESPONSES, parseResponse, type ParsedResponse } from "./response";
export { SIGNATURE_ALGORITHMS } from "./signature";
export {
  CertStatus,
  DEFAULT_MAX_SKEW_MS,
  type SignerInfo,
  verifyResponse,
  type VerifiedResponse,
  type VerifyOptions,
} from "./verify";
export { evaluateResponse, type OcspVerdict } from "./verdict";
export {
  OcspBadSignatureError,
  OcspCertIdMismatchError,
  OcspCertificateError,
  OcspError,
  OcspErrorCode,
  OcspExpiredError,
  OcspMalformedError,
  OcspNoNextUpdateError,
  OcspNonceMismatchError,
  OcspNotYetValidError,
  OcspResponderStatusError,
  OcspSignerValidityError,
  OcspStaleError,
  OcspTooLargeError,
  OcspUnauthorizedSignerError,
  OcspUnsupportedAlgorithmError,
} from "./errors";
