/**
 * Errors of @postern/dkim. Verification never throws for a bad message, key or
 * DNS answer: each signature gets a DkimResult whose `code` is one of the codes
 * below (verify.ts maps every failure to a result in one function). Only API
 * misuse is thrown: DkimOptionsError (bad options, unusable private key) and
 * DkimSignError (a message that cannot be signed). Codes are stable and cross
 * NATS and gRPC; classes do not.
 */

export const dkimErrorCodes = {
  /** The DKIM-Signature field does not follow RFC 6376 3.5 (tag syntax, missing or bad tag). */
  signatureSyntax: "POSTERN_DKIM_SIGNATURE_SYNTAX",
  /** The key record does not follow RFC 6376 3.6.1, or the key is unusable. */
  keySyntax: "POSTERN_DKIM_KEY_SYNTAX",
  /** No key record at the selector (NXDOMAIN, NODATA, or no DKIM record among the TXT records). */
  keyMissing: "POSTERN_DKIM_KEY_MISSING",
  /** The key record has an empty p=: the key is revoked. */
  keyRevoked: "POSTERN_DKIM_KEY_REVOKED",
  /** The key record does not allow this signature (k=, h=, s=, t=s). */
  keyMismatch: "POSTERN_DKIM_KEY_MISMATCH",
  /** The body hash did not match bh=. */
  bodyHash: "POSTERN_DKIM_BODY_HASH",
  /** The signature over the header fields did not verify. */
  badSignature: "POSTERN_DKIM_BAD_SIGNATURE",
  /** x= has passed or t= is in the future. */
  time: "POSTERN_DKIM_TIME",
  /** Not acceptable by local policy: rsa-sha1, RSA key too small. */
  policy: "POSTERN_DKIM_POLICY",
  /** A limit of ours: too many signatures, header section too large. */
  limit: "POSTERN_DKIM_LIMIT",
  /** The key lookup failed temporarily. */
  dns: "POSTERN_DKIM_DNS",
  /** Anything unexpected (a resolver that throws, a bug): reported as temperror. */
  internal: "POSTERN_DKIM_INTERNAL",
  options: "POSTERN_DKIM_OPTIONS",
  sign: "POSTERN_DKIM_SIGN",
} as const;
export type DkimErrorCode = (typeof dkimErrorCodes)[keyof typeof dkimErrorCodes];

export class DkimError extends Error {
  readonly code: DkimErrorCode;
  constructor(code: DkimErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DkimError";
    this.code = code;
  }
}

/** Bad options passed to sign or verify (a bug in the caller), thrown. */
export class DkimOptionsError extends DkimError {
  readonly option: string;
  constructor(option: string, detail: string, options?: ErrorOptions) {
    super(dkimErrorCodes.options, `invalid DKIM option ${option}: ${detail}`, options);
    this.name = "DkimOptionsError";
    this.option = option;
  }
}

/** A message that cannot be signed (no From, header section too large), thrown by the signer. */
export class DkimSignError extends DkimError {
  constructor(detail: string, options?: ErrorOptions) {
    super(dkimErrorCodes.sign, `cannot DKIM-sign: ${detail}`, options);
    this.name = "DkimSignError";
  }
}

/**
 * A failure inside verification, carried to verify.ts's mapping as a value
 * (returned, not thrown, on hostile input). `reason` is fixed text plus a
 * short, sanitised detail.
 */
export class DkimVerifyError extends DkimError {
  readonly reason: string;
  constructor(code: DkimErrorCode, reason: string, options?: ErrorOptions) {
    // Built for every bad signature on hostile input: skip the stack capture, it costs more than the check.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(code, reason, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = "DkimVerifyError";
    this.reason = reason;
  }
}
