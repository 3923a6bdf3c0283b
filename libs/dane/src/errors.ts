/**
 * Errors of @postern/dane. Verdicts are return values (DaneDecision, PeerVerdict); these
 * classes exist only for bugs in the caller (a record that cannot be built) and to give the
 * failure reasons stable codes that cross NATS and gRPC.
 */

/** Why DANE made a host defer; the `reason` of a `dane:fail` event (RFC 7672 terms). */
export const DaneFailReason = {
  /** hosts_require_dane matched, but DANE is not usable for the host (no DNSSEC, no usable TLSA). */
  daneRequired: "dane-required",
  /** A lookup DANE depends on (MX, address, TLSA) failed validation (SERVFAIL from the validator). */
  dnssecInvalid: "dnssec-invalid",
  /** The TLSA lookup did not complete (timeout, network error): we cannot know there is no TLSA. */
  tlsaLookupFailed: "tlsa-lookup-failed",
  /** The TLS peer's certificate chain matched no usable TLSA record, or the DANE-TA name check failed. */
  validationFailure: "validation-failure",
  /** DANE applies but the server did not offer STARTTLS (never fall back to cleartext). */
  starttlsNotSupported: "starttls-not-supported",
  /** DANE applies but the TLS handshake failed. */
  handshakeFailed: "tls-handshake-failed",
} as const;
export type DaneFailReason = (typeof DaneFailReason)[keyof typeof DaneFailReason];

export const DaneErrorCode = {
  badRecord: "POSTERN_DANE_BAD_RECORD",
} as const;
export type DaneErrorCode = (typeof DaneErrorCode)[keyof typeof DaneErrorCode];

export class DaneError extends Error {
  readonly code: DaneErrorCode;
  constructor(code: DaneErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DaneError";
    this.code = code;
  }
}

/** parseTlsaText: text that is not `usage selector matching-type hex`. */
export class DaneRecordError extends DaneError {
  readonly text: string;
  constructor(text: string, detail: string) {
    super(DaneErrorCode.badRecord, `bad TLSA record ${JSON.stringify(text.slice(0, 80))}: ${detail}`);
    this.name = "DaneRecordError";
    this.text = text;
  }
}
