/** When to refresh and what to keep: pure functions of times (ms since the epoch). */
import { type OcspVerdict } from "@postern/ocsp";
import { type StapleEnvelope } from "./records";

export interface RefreshTiming {
  thisUpdate: number;
  nextUpdate: number;
  /** notAfter of the certificate that signed the response */
  signerNotAfter: number;
}

/**
 * thisUpdate + fraction of the validity, where validity ends at nextUpdate or when the signer
 * certificate expires, whichever is first. A response already past that point (a caching
 * responder handing out an old one) is retried after the same fraction of what is left.
 * Never sooner than minIntervalMs from now, never later than the end of validity.
 */
export function nextRefreshAt(t: RefreshTiming, fraction: number, now: number, minIntervalMs: number): number {
  const end = Math.min(t.nextUpdate, t.signerNotAfter);
  let at = t.thisUpdate + fraction * (end - t.thisUpdate);
  if (at <= now) at = now + fraction * (end - now);
  return Math.round(Math.max(at, Math.min(now + minIntervalMs, end)));
}

/** initial * 2^(failures-1), capped at max. */
export function backoffDelay(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 40));
}

/**
 * After a failed attempt: retry after the backoff, but no later than the moment the staple we
 * hold expires, so that it is dropped (or replaced) on time.
 */
export function retryAt(now: number, delayMs: number, held: StapleEnvelope | undefined): number {
  const at = now + delayMs;
  if (held === undefined) return at;
  const expiry = Date.parse(held.next_update);
  return expiry > now ? Math.min(at, expiry) : at;
}

export type Decision =
  /** store and push the verified response */
  | { kind: "store" }
  /** the responder sent the response we already hold (a caching responder) */
  | { kind: "same" }
  /** keep what we hold; count a failure with this code */
  | { kind: "reject"; code: string; reason: string };

export const STATUS_UNKNOWN_CODE = "POSTERN_OCSP_STATUS_UNKNOWN";

/**
 * What a verdict does to the staple held. Only a verified good or revoked response replaces it
 * (the verdict already refused one older than it); "unknown" proves nothing and is not served,
 * so it is a failure that leaves the held staple in place until its nextUpdate.
 */
export function decide(verdict: OcspVerdict, held: StapleEnvelope | undefined): Decision {
  if (verdict.kind === "invalid") return { kind: "reject", code: verdict.code, reason: verdict.reason };
  if (verdict.kind === "unknown") return { kind: "reject", code: STATUS_UNKNOWN_CODE, reason: "responder does not know the certificate" };
  if (held !== undefined && Buffer.from(held.der, "base64").equals(verdict.response.der)) return { kind: "same" };
  return { kind: "store" };
}
