/** The one place where verification failures become a verdict. */
import { type CertPair } from "./certs";
import { OcspError, OcspErrorCode } from "./errors";
import { type CertStatus, verifyResponse, type VerifiedResponse, type VerifyOptions } from "./verify";

export type OcspVerdict =
  | { kind: CertStatus; response: VerifiedResponse }
  /** The response must not be stored or served. `code` is stable; `reason` is for logs. */
  | { kind: "invalid"; code: OcspErrorCode; reason: string; error: Error };

/**
 * Verifies `der` for `pair` and answers good, revoked, unknown (each with the verified
 * response) or invalid (with the OcspErrorCode). Never throws: anything unexpected is
 * invalid with code POSTERN_OCSP_INTERNAL.
 */
export function evaluateResponse(der: Uint8Array, pair: CertPair, opts: VerifyOptions): OcspVerdict {
  try {
    const response = verifyResponse(der, pair, opts);
    return { kind: response.status, response };
  } catch (err) {
    if (err instanceof OcspError) return { kind: "invalid", code: err.code, reason: err.message, error: err };
    const error = err instanceof Error ? err : new Error(String(err));
    return { kind: "invalid", code: OcspErrorCode.Internal, reason: `unexpected error: ${error.message}`, error };
  }
}
