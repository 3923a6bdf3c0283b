/** Named errors of ocsp-refresher's own I/O; codes are stable (stored in KV last_error, logged). */

export const FetchErrorCode = {
  /** No AIA OCSP URL in the certificate and no responder_override_url. */
  NoResponder: "POSTERN_OCSP_NO_RESPONDER",
  /** Connecting, sending or receiving took longer than fetch_timeout_ms. */
  Timeout: "POSTERN_OCSP_FETCH_TIMEOUT",
  /** The responder answered with an HTTP status other than 200 (redirects are not followed). */
  HttpStatus: "POSTERN_OCSP_FETCH_HTTP_STATUS",
  /** The body is larger than max_response_bytes. */
  TooLarge: "POSTERN_OCSP_FETCH_TOO_LARGE",
  /** Connection refused or reset, DNS failure, or any other socket error. */
  Network: "POSTERN_OCSP_FETCH_NETWORK",
} as const;
export type FetchErrorCode = (typeof FetchErrorCode)[keyof typeof FetchErrorCode];

export class FetchError extends Error {
  override readonly name = "FetchError";
  constructor(
    readonly code: FetchErrorCode,
    readonly url: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`OCSP fetch from ${url}: ${message}`, options);
  }
}
