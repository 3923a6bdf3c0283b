/**
 * Public types of @postern/dkim: the injected resolver, verification options
 * and results, signing options. Kept in one file so that consumers (libs/dmarc,
 * services/dmarc, dane-outbound) depend on a small, stable surface.
 */
import type { KeyObject } from "node:crypto";
import type { DkimErrorCode } from "./errors";

/**
 * The DNS interface the verifier needs: TXT lookups only. Structural, so the
 * libs/dns `Resolver` (its `txt` returns `Outcome<string[]>`), libspf's
 * `SpfDns`, the in-memory `createDkimZone` (testing/zone.ts) or a test fake can
 * be passed as they are.
 *
 * Contract: `name` is `<selector>._domainkey.<domain>` without a trailing dot.
 * `records` holds one entry per TXT record, each the list of its
 * character-strings (latin1-decoded, as libs/dns does); the verifier joins them
 * with "". Never throw for a DNS condition; a throw is treated as temperror.
 */
export interface DkimDns {
  txt(name: string): Promise<DkimTxtOutcome>;
}

/** The outcomes the verifier distinguishes (a subset of libs/dns's `Outcome`). */
export type DkimTxtOutcome =
  | { readonly kind: "answer"; readonly records: readonly (readonly string[])[] }
  | { readonly kind: "nxdomain" | "nodata" | "servfail" | "timeout" | "refused" | "error" };

/** DKIM algorithms (RFC 6376 3.3, RFC 8463). rsa-sha1 verifies only when `allowSha1` is set (RFC 8301). */
export const dkimAlgorithms = {
  rsaSha256: "rsa-sha256",
  rsaSha1: "rsa-sha1",
  ed25519Sha256: "ed25519-sha256",
} as const;
export type DkimAlgorithm = (typeof dkimAlgorithms)[keyof typeof dkimAlgorithms];
/** Algorithms the signer produces. */
export type DkimSignAlgorithm = "rsa-sha256" | "ed25519-sha256";

export type Canonicalization = "simple" | "relaxed";
/** The c= value: `header/body`. */
export type CanonicalizationPair = `${Canonicalization}/${Canonicalization}`;

/**
 * Result of one signature, named as in RFC 8601 section 2.7.1:
 * - pass: signature and body hash verified with a usable key.
 * - fail: the signature or the body hash did not verify.
 * - neutral: could not be evaluated for a reason that is not an error of the
 *   signer's DNS or syntax (expired, timestamp in the future, signature limit).
 * - policy: not acceptable here whatever the cryptography says: rsa-sha1
 *   without `allowSha1` (RFC 8301), an RSA key below `minRsaBits`. (A key in
 *   testing mode, t=y, is not policy: it is reported with `testing: true`.)
 * - temperror: the key lookup failed temporarily (timeout, SERVFAIL).
 * - permerror: malformed signature, missing/revoked/unusable key, bad key record.
 * - none: not used for a signature; `dkimAuthResults([])` gives `dkim=none`.
 */
export const dkimResults = {
  pass: "pass",
  fail: "fail",
  neutral: "neutral",
  policy: "policy",
  temperror: "temperror",
  permerror: "permerror",
  none: "none",
} as const;
export type DkimResultKind = (typeof dkimResults)[keyof typeof dkimResults];

/** The outcome of one DKIM-Signature header field, in message order (topmost first). */
export interface DkimResult {
  readonly result: DkimResultKind;
  /** Why the result is not pass: short text from a fixed vocabulary plus a detail; safe to log. */
  readonly reason?: string;
  /** Stable code for non-pass results (errors.ts). */
  readonly code?: DkimErrorCode;
  /** d= (header.d), lower-cased; "" when the signature was too broken to read it. */
  readonly domain: string;
  /** i= (header.i) as given, or `@` + d= when absent; "" when unknown. */
  readonly identity: string;
  /** s= (header.s); "" when unknown. */
  readonly selector: string;
  /** a= as given (lower-cased), "" when unknown. */
  readonly algorithm: string;
  /** The first 8 characters of b= (header.b, RFC 6008); "" when unknown. */
  readonly headerB: string;
  /** c= normalised to `header/body`. */
  readonly canonicalization?: CanonicalizationPair;
  /** h= field names, lower-cased, in signature order. */
  readonly signedHeaders?: readonly string[];
  /** l= when present. */
  readonly bodyLength?: number;
  /** t= and x= in seconds since the epoch, when present. */
  readonly timestamp?: number;
  readonly expiration?: number;
  /** Key size in bits (RSA modulus length, 256 for Ed25519) when a key was loaded. */
  readonly keyBits?: number;
  /** The key record carries t=y: the domain is testing DKIM (RFC 6376 3.6.1). */
  readonly testing?: boolean;
  /** `dkim=<result> (<comment>) header.d=... header.i=... header.s=... header.a=... header.b=...` for Authentication-Results. */
  readonly authResults: string;
}

export interface VerifyOptions {
  readonly resolver: DkimDns;
  /** Clock in milliseconds, for x= and t=. Default Date.now. */
  readonly now?: () => number;
  /** RSA keys with fewer bits give `policy`. Default 1024 (RFC 8301). */
  readonly minRsaBits?: number;
  /** Verify rsa-sha1 signatures instead of reporting them as `policy`. Default false. */
  readonly allowSha1?: boolean;
  /** Signatures evaluated per message; later ones give `neutral`. Default 10. */
  readonly maxSignatures?: number;
  /** Header section larger than this gives one permerror result. Default 1 MiB. */
  readonly maxHeaderBytes?: number;
  /** Seconds t= may lie in the future before the signature is `neutral`. Default 36000 (10 hours, as dkimpy). */
  readonly clockSkew?: number;
  /** Aborting makes pending key lookups temperror. */
  readonly signal?: AbortSignal;
}

/** Input accepted by verify and sign: a whole message, or its bytes in chunks. */
export type MessageSource = Buffer | Uint8Array | string | AsyncIterable<Buffer | Uint8Array | string>;

export interface SignOptions {
  /** d= */
  readonly domain: string;
  /** s= */
  readonly selector: string;
  /** PEM (PKCS#8, PKCS#1 for RSA), a KeyObject, or for Ed25519 the raw 32-byte seed as base64 (dkimpy's format). */
  readonly privateKey: KeyObject | string | Buffer;
  /** Default: from the key type (RSA → rsa-sha256, Ed25519 → ed25519-sha256). */
  readonly algorithm?: DkimSignAlgorithm;
  /** Default relaxed/relaxed. */
  readonly canonicalization?: CanonicalizationPair;
  /**
   * Field names to sign when present in the message (each occurrence is
   * signed). Default DEFAULT_SIGNED_HEADERS. "From" is always signed.
   */
  readonly headers?: readonly string[];
  /** Field names listed once more than they occur, so none can be added later. Default ["from"]. */
  readonly oversign?: readonly string[];
  /** i=, e.g. `@example.com` or `user@sub.example.com`. Default: absent. */
  readonly identity?: string;
  /** Add l= with the canonical body length. Default false. */
  readonly bodyLength?: boolean;
  /** Add t= (default true). */
  readonly timestamp?: boolean;
  /** Add x= this many seconds after t=. Default: no x=. */
  readonly expiresIn?: number;
  /** Clock in milliseconds. Default Date.now. */
  readonly now?: () => number;
  /** Header section larger than this is refused with DkimSignError. Default 1 MiB. */
  readonly maxHeaderBytes?: number;
}
