/**
 * Named errors and stable codes of @postern/ocsp.
 *
 * verifyResponse and prepareCertificates throw these; evaluateResponse (verdict.ts) is the one
 * place that turns them into a verdict. Codes cross NATS, KV and gRPC; classes don't.
 */

export const OcspErrorCode = {
  /** The leaf or issuer certificate is unusable: not DER, too large, leaf not issued by the issuer. */
  Certificate: "POSTERN_OCSP_BAD_CERTIFICATE",
  /** The response is larger than the configured cap. */
  TooLarge: "POSTERN_OCSP_TOO_LARGE",
  /** Not a DER OCSPResponse, not a basic response, trailing bytes, too many parts, bad times. */
  Malformed: "POSTERN_OCSP_MALFORMED",
  /** The responder answered malformedRequest, internalError, tryLater, sigRequired or unauthorized. */
  ResponderStatus: "POSTERN_OCSP_RESPONDER_STATUS",
  /** The response is signed with an algorithm we do not accept (SHA-1, RSA-PSS, unknown OIDs). */
  UnsupportedAlgorithm: "POSTERN_OCSP_UNSUPPORTED_ALGORITHM",
  /** The signature does not verify with the responder's key. */
  BadSignature: "POSTERN_OCSP_BAD_SIGNATURE",
  /** No certificate matches the responder id, or it is neither the issuer nor a delegated signer of it. */
  UnauthorizedSigner: "POSTERN_OCSP_UNAUTHORIZED_SIGNER",
  /** The signer certificate is not valid from thisUpdate to nextUpdate (or now). */
  SignerValidity: "POSTERN_OCSP_SIGNER_VALIDITY",
  /** The response holds no answer for our certificate (issuer hashes and serial). */
  CertIdMismatch: "POSTERN_OCSP_CERT_ID_MISMATCH",
  /** thisUpdate (or producedAt) lies in the future by more than the allowed skew. */
  NotYetValid: "POSTERN_OCSP_NOT_YET_VALID",
  /** nextUpdate has passed. */
  Expired: "POSTERN_OCSP_EXPIRED",
  /** The response has no nextUpdate: nothing says until when it may be served. */
  NoNextUpdate: "POSTERN_OCSP_NO_NEXT_UPDATE",
  /** We sent a nonce and the response carries a different one. */
  NonceMismatch: "POSTERN_OCSP_NONCE_MISMATCH",
  /** thisUpdate is older than the response we already hold (a replay). */
  Stale: "POSTERN_OCSP_STALE",
  /** Anything unexpected while checking (a bug): the response is not used. */
  Internal: "POSTERN_OCSP_INTERNAL",
} as const;
export type OcspErrorCode = (typeof OcspErrorCode)[keyof typeof OcspErrorCode];

export abstract class OcspError extends Error {
  abstract readonly code: OcspErrorCode;
}

export class OcspCertificateError extends OcspError {
  override readonly name = "OcspCertificateError";
  readonly code = OcspErrorCode.Certificate;
  constructor(readonly which: "leaf" | "issuer", reason: string, options?: ErrorOptions) {
    super(`${which} certificate: ${reason}`, options);
  }
}

export class OcspTooLargeError extends OcspError {
  override readonly name = "OcspTooLargeError";
  readonly code = OcspErrorCode.TooLarge;
  constructor(readonly byteLength: number, readonly limit: number) {
    super(`OCSP response of ${byteLength} bytes exceeds the limit of ${limit}`);
  }
}

export class OcspMalformedError extends OcspError {
  override readonly name = "OcspMalformedError";
  readonly code = OcspErrorCode.Malformed;
  constructor(reason: string, options?: ErrorOptions) {
    super(`malformed OCSP response: ${reason}`, options);
  }
}

export class OcspResponderStatusError extends OcspError {
  override readonly name = "OcspResponderStatusError";
  readonly code = OcspErrorCode.ResponderStatus;
  constructor(readonly responseStatus: string) {
    super(`OCSP responder answered ${responseStatus}`);
  }
}

export class OcspUnsupportedAlgorithmError extends OcspError {
  override readonly name = "OcspUnsupportedAlgorithmError";
  readonly code = OcspErrorCode.UnsupportedAlgorithm;
  constructor(readonly algorithm: string) {
    super(`unsupported OCSP signature algorithm ${algorithm}`);
  }
}

export class OcspBadSignatureError extends OcspError {
  override readonly name = "OcspBadSignatureError";
  readonly code = OcspErrorCode.BadSignature;
  constructor(readonly signer: string, options?: ErrorOptions) {
    super(`OCSP response signature does not verify with the key of ${signer}`, options);
  }
}

export class OcspUnauthorizedSignerError extends OcspError {
  override readonly name = "OcspUnauthorizedSignerError";
  readonly code = OcspErrorCode.UnauthorizedSigner;
  constructor(reason: string) {
    super(`OCSP responder not authorized: ${reason}`);
  }
}

export class OcspSignerValidityError extends OcspError {
  override readonly name = "OcspSignerValidityError";
  readonly code = OcspErrorCode.SignerValidity;
  constructor(
    readonly signer: string,
    readonly notBefore: Date,
    readonly notAfter: Date,
    readonly from: Date,
    readonly until: Date,
  ) {
    super(
      `signer certificate ${signer} is valid ${notBefore.toISOString()}..${notAfter.toISOString()}, ` +
        `which does not cover the response's ${from.toISOString()}..${until.toISOString()}`,
    );
  }
}

export class OcspCertIdMismatchError extends OcspError {
  override readonly name = "OcspCertIdMismatchError";
  readonly code = OcspErrorCode.CertIdMismatch;
  constructor(readonly serial: string, readonly answered: string[]) {
    super(`OCSP response has no answer for serial ${serial} of this issuer (answers: ${answered.join(", ") || "none"})`);
  }
}

export class OcspNotYetValidError extends OcspError {
  override readonly name = "OcspNotYetValidError";
  readonly code = OcspErrorCode.NotYetValid;
  constructor(readonly field: "thisUpdate" | "producedAt", readonly time: Date, readonly now: Date) {
    super(`OCSP ${field} ${time.toISOString()} is in the future (now ${now.toISOString()})`);
  }
}

export class OcspExpiredError extends OcspError {
  override readonly name = "OcspExpiredError";
  readonly code = OcspErrorCode.Expired;
  constructor(readonly nextUpdate: Date, readonly now: Date) {
    super(`OCSP response expired at ${nextUpdate.toISOString()} (now ${now.toISOString()})`);
  }
}

export class OcspNoNextUpdateError extends OcspError {
  override readonly name = "OcspNoNextUpdateError";
  readonly code = OcspErrorCode.NoNextUpdate;
  constructor() {
    super("OCSP response has no nextUpdate");
  }
}

export class OcspNonceMismatchError extends OcspError {
  override readonly name = "OcspNonceMismatchError";
  readonly code = OcspErrorCode.NonceMismatch;
  constructor() {
    super("OCSP response nonce differs from the request's");
  }
}

export class OcspStaleError extends OcspError {
  override readonly name = "OcspStaleError";
  readonly code = OcspErrorCode.Stale;
  constructor(readonly thisUpdate: Date, readonly notOlderThan: Date) {
    super(`OCSP thisUpdate ${thisUpdate.toISOString()} is older than the held response's ${notOlderThan.toISOString()}`);
  }
}
