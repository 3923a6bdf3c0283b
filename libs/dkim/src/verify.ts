import type { DkimResult, MessageSource, VerifyOptions } from "./types";

/** Verifies every DKIM-Signature of a message. (First API version: implementation follows.) */
export function verifyMessage(_message: MessageSource, _options: VerifyOptions): Promise<DkimResult[]> {
  return Promise.reject(new Error("not implemented yet"));
}

/** Authentication-Results fragments for the results; `["dkim=none"]` for an unsigned message. */
export function dkimAuthResults(results: readonly DkimResult[]): string[] {
  return results.length === 0 ? ["dkim=none"] : results.map((r) => r.authResults);
}
