/**
 * The public verifier: every DKIM-Signature of a message (RFC 6376 6), each
 * mapped to a DkimResult in exactly one function (`toResult`). Key lookups
 * start as soon as the header section is read and run while the body streams
 * through one canonicaliser per body canonicalisation, shared by all
 * signatures that use it.
 */
import { createHash, verify as cryptoVerify } from "node:crypto";
import { BodyCanonicalizer, BodyHash, canonicalizeHeader, type HeaderField } from "./canon";
import { type DkimErrorCode, dkimErrorCodes, DkimOptionsError, DkimVerifyError } from "./errors";
import { checkKeyFits, type DkimKey, parseKeyRecord } from "./key";
import { isAsyncIterable, mayHoldSignature, type MessageHead, parseHeaderFields, readHead, splitWhole, toBuffer } from "./message";
import { type ParsedSignature, parseSignature, safeDetail, type SignatureFacts } from "./signature";
import type { DkimDns, DkimResult, DkimResultKind, DkimTxtOutcome, MessageSource, VerifyOptions } from "./types";

export const DEFAULT_MAX_SIGNATURES = 10;
export const DEFAULT_MAX_HEADER_BYTES = 1024 * 1024;
export const DEFAULT_MIN_RSA_BITS = 1024;
/** t= may be this far ahead of our clock (dkimpy's 10 hours: senders' clocks are often wrong, and RFC 6376 only says MAY ignore). */
export const DEFAULT_CLOCK_SKEW = 36_000;

type Outcome =
  | { readonly kind: "pass"; readonly key: DkimKey }
  | { readonly kind: "error"; readonly error: DkimVerifyError; readonly key?: DkimKey }
  | { readonly kind: "crash"; readonly cause: unknown };

type KeyLookup = { readonly ok: true; readonly key: DkimKey } | { readonly ok: false; readonly error: DkimVerifyError } | { readonly ok: "crash"; readonly cause: unknown };

interface Pending {
  readonly facts: SignatureFacts;
  readonly sig: ParsedSignature;
  readonly field: HeaderField;
  readonly bodyHash: BodyHash;
  readonly key: Promise<KeyLookup>;
}

function resolved(options: VerifyOptions): Required<Omit<VerifyOptions, "signal">> & { signal?: AbortSignal } {
  const positive = (name: string, v: number | undefined, d: number): number => {
    if (v === undefined) return d;
    if (!Number.isInteger(v) || v < 0) throw new DkimOptionsError(name, "must be a non-negative integer");
    return v;
  };
  if (options === null || typeof options !== "object" || typeof options.resolver?.txt !== "function") {
    throw new DkimOptionsError("resolver", "must have a txt(name) method");
  }
  return {
    resolver: options.resolver,
    now: options.now ?? Date.now,
    minRsaBits: positive("minRsaBits", options.minRsaBits, DEFAULT_MIN_RSA_BITS),
    allowSha1: options.allowSha1 ?? false,
    maxSignatures: positive("maxSignatures", options.maxSignatures, DEFAULT_MAX_SIGNATURES),
    maxHeaderBytes: positive("maxHeaderBytes", options.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES),
    clockSkew: positive("clockSkew", options.clockSkew, DEFAULT_CLOCK_SKEW),
    ...(options.signal !== undefined && { signal: options.signal }),
  };
}

/**
 * Verifies every DKIM-Signature field of a message, topmost first. An
 * unsigned message gives []. Never rejects for anything in the message or
 * DNS; throws DkimOptionsError for bad options.
 */
export async function verifyMessage(message: MessageSource, options: VerifyOptions): Promise<DkimResult[]> {
  const opts = resolved(options);
  let head: MessageHead;
  if (isAsyncIterable(message)) head = await readHead(message, opts.maxHeaderBytes);
  else {
    // In memory (what the dmarc service passes): an unsigned message's header section is not parsed at all.
    const whole = splitWhole(toBuffer(message), opts.maxHeaderBytes);
    if (!whole.tooLarge && !mayHoldSignature(whole.header)) return [];
    head = { tooLarge: whole.tooLarge, fields: whole.tooLarge ? [] : parseHeaderFields(whole.header), body: whole.body };
  }
  if (head.tooLarge) {
    const facts: SignatureFacts = { domain: "", identity: "", selector: "", algorithm: "", headerB: "" };
    return [toResult(facts, { kind: "error", error: new DkimVerifyError(dkimErrorCodes.limit, "header section too large") })];
  }
  const fields = head.fields;
  const results: (DkimResult | Pending)[] = [];
  const canonicalizers = new Map<string, BodyCanonicalizer>();
  const lookups = new Map<string, Promise<KeyLookup>>();
  const nowSeconds = Math.floor(opts.now() / 1000);
  let counted = 0;

  for (const field of fields) {
    if (field.lowerName !== "dkim-signature") continue;
    const parsed = parseSignature(field.value);
    if (counted++ >= opts.maxSignatures) {
      results.push(toResult(parsed.facts, { kind: "error", error: new DkimVerifyError(dkimErrorCodes.limit, `more than ${opts.maxSignatures} signatures`) }));
      continue;
    }
    if (!parsed.ok) {
      results.push(toResult(parsed.facts, { kind: "error", error: parsed.error }));
      continue;
    }
    const sig = parsed.sig;
    const early = earlyCheck(sig, nowSeconds, opts);
    if (early !== undefined) {
      results.push(toResult(parsed.facts, { kind: "error", error: early }));
      continue;
    }
    const name = `${sig.selector}._domainkey.${sig.domain}`;
    let key = lookups.get(name.toLowerCase());
    if (key === undefined) {
      key = lookupKey(opts.resolver, name, opts.signal);
      lookups.set(name.toLowerCase(), key);
    }
    let canon = canonicalizers.get(sig.bodyCanon);
    if (canon === undefined) {
      canon = new BodyCanonicalizer(sig.bodyCanon);
      canonicalizers.set(sig.bodyCanon, canon);
    }
    const bodyHash = new BodyHash(sig.hash, sig.bodyLength);
    canon.addSink(bodyHash);
    results.push({ facts: parsed.facts, sig, field, bodyHash, key });
  }

  if (canonicalizers.size > 0) {
    if (Buffer.isBuffer(head.body)) {
      for (const c of canonicalizers.values()) c.update(head.body);
    } else {
      for await (const chunk of head.body) for (const c of canonicalizers.values()) c.update(chunk);
    }
    for (const c of canonicalizers.values()) c.finish();
  }

  const out: DkimResult[] = [];
  for (const r of results) {
    if (!("sig" in r)) {
      out.push(r);
      continue;
    }
    out.push(toResult(r.facts, await finishOne(r, fields, opts.minRsaBits)));
  }
  return out;
}

/** Checks that need neither DNS nor the body: time window and algorithm policy. */
function earlyCheck(sig: ParsedSignature, now: number, opts: { allowSha1: boolean; clockSkew: number }): DkimVerifyError | undefined {
  if (sig.expiration !== undefined && sig.expiration < now) return new DkimVerifyError(dkimErrorCodes.time, "signature expired (x=)");
  if (sig.timestamp !== undefined && sig.timestamp > now + opts.clockSkew) return new DkimVerifyError(dkimErrorCodes.time, "signature timestamp in the future (t=)");
  if (sig.hash === "sha1" && !opts.allowSha1) return new DkimVerifyError(dkimErrorCodes.policy, "rsa-sha1 is not accepted (RFC 8301)");
  return undefined;
}

async function lookupKey(resolver: DkimDns, name: string, signal: AbortSignal | undefined): Promise<KeyLookup> {
  try {
    let outcome: DkimTxtOutcome;
    if (signal === undefined) outcome = await resolver.txt(name);
    else {
      if (signal.aborted) return { ok: false, error: new DkimVerifyError(dkimErrorCodes.dns, "key lookup aborted") };
      let onAbort: () => void = () => undefined;
      const aborted = new Promise<DkimTxtOutcome>((resolve) => {
        onAbort = () => resolve({ kind: "timeout" });
        signal.addEventListener("abort", onAbort, { once: true });
      });
      try {
        outcome = await Promise.race([resolver.txt(name), aborted]);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
    switch (outcome.kind) {
      case "answer":
        return keyFromRecords(outcome.records);
      case "nxdomain":
      case "nodata":
        return { ok: false, error: new DkimVerifyError(dkimErrorCodes.keyMissing, "no key for signature") };
      default:
        return { ok: false, error: new DkimVerifyError(dkimErrorCodes.dns, `key lookup failed (${outcome.kind})`) };
    }
  } catch (cause) {
    return { ok: "crash", cause };
  }
}

/**
 * RFC 6376 3.6.2.2: several TXT records are a misconfiguration; use the first
 * that parses as a key, else report the first record's problem.
 */
function keyFromRecords(records: readonly (readonly string[])[]): KeyLookup {
  let firstError: DkimVerifyError | undefined;
  for (const strings of records) {
    const parsed = parseKeyRecord(strings.join(""));
    if (parsed.ok) return parsed;
    firstError ??= parsed.error;
  }
  return { ok: false, error: firstError ?? new DkimVerifyError(dkimErrorCodes.keyMissing, "no key for signature") };
}

async function finishOne(p: Pending, fields: readonly HeaderField[], minRsaBits: number): Promise<Outcome> {
  const looked = await p.key;
  if (looked.ok === "crash") return { kind: "crash", cause: looked.cause };
  if (!looked.ok) return { kind: "error", error: looked.error };
  const key = looked.key;
  const misfit = checkKeyFits(key, p.sig);
  if (misfit !== undefined) return { kind: "error", error: misfit, key };
  if (key.keyType === "rsa" && key.bits < minRsaBits) {
    return { kind: "error", error: new DkimVerifyError(dkimErrorCodes.policy, `${key.bits}-bit RSA key is below ${minRsaBits} bits`), key };
  }
  const sig = p.sig;
  if (sig.bodyLength !== undefined && sig.bodyLength > p.bodyHash.length) {
    return { kind: "error", error: new DkimVerifyError(dkimErrorCodes.bodyHash, "l= is longer than the body"), key };
  }
  if (!p.bodyHash.digest().equals(sig.bodyHash)) return { kind: "error", error: new DkimVerifyError(dkimErrorCodes.bodyHash, "body hash did not verify"), key };
  const data = Buffer.from(headerHashInput(fields, sig, p.field), "latin1");
  let ok: boolean;
  try {
    ok =
      key.keyType === "ed25519"
        ? cryptoVerify(null, createHash("sha256").update(data).digest(), key.publicKey, sig.signature)
        : cryptoVerify(sig.hash, data, key.publicKey, sig.signature);
  } catch {
    ok = false; // a signature of the wrong length for the key, for instance
  }
  if (!ok) return { kind: "error", error: new DkimVerifyError(dkimErrorCodes.badSignature, "signature did not verify"), key };
  return { kind: "pass", key };
}

/**
 * The header data of RFC 6376 3.7: the h= fields chosen bottom-up (a name
 * listed more often than it occurs contributes nothing, which is how
 * over-signing works), then the signature field itself with b= blanked and
 * without its final CRLF.
 */
export function headerHashInput(fields: readonly HeaderField[], sig: Pick<ParsedSignature, "signedHeaders" | "headerCanon" | "bStart" | "bEnd">, self: HeaderField): string {
  const used = new Map<string, number>();
  let out = "";
  for (const name of sig.signedHeaders) {
    let from = used.get(name) ?? fields.length;
    let i = from - 1;
    while (i >= 0 && fields[i]?.lowerName !== name) i--;
    from = i < 0 ? 0 : i;
    used.set(name, from);
    const field = fields[i];
    if (field !== undefined) out += canonicalizeHeader(sig.headerCanon, field);
  }
  const blanked = self.value.slice(0, sig.bStart) + self.value.slice(sig.bEnd);
  const own = canonicalizeHeader(sig.headerCanon, self, blanked);
  return out + own.slice(0, -2);
}

const resultOf: Readonly<Record<DkimErrorCode, DkimResultKind>> = {
  [dkimErrorCodes.signatureSyntax]: "permerror",
  [dkimErrorCodes.keySyntax]: "permerror",
  [dkimErrorCodes.keyMissing]: "permerror",
  [dkimErrorCodes.keyRevoked]: "permerror",
  [dkimErrorCodes.keyMismatch]: "permerror",
  [dkimErrorCodes.bodyHash]: "fail",
  [dkimErrorCodes.badSignature]: "fail",
  [dkimErrorCodes.time]: "neutral",
  [dkimErrorCodes.limit]: "neutral",
  [dkimErrorCodes.policy]: "policy",
  [dkimErrorCodes.dns]: "temperror",
  [dkimErrorCodes.internal]: "temperror",
  [dkimErrorCodes.options]: "temperror",
  [dkimErrorCodes.sign]: "temperror",
};

/** The one mapping from a signature's outcome to its result. */
function toResult(facts: SignatureFacts, outcome: Outcome): DkimResult {
  let result: DkimResultKind;
  let reason: string | undefined;
  let code: DkimErrorCode | undefined;
  let key: DkimKey | undefined;
  switch (outcome.kind) {
    case "pass":
      result = "pass";
      key = outcome.key;
      break;
    case "error":
      result = resultOf[outcome.error.code];
      reason = outcome.error.reason;
      code = outcome.error.code;
      key = outcome.key;
      break;
    case "crash":
      result = "temperror";
      code = dkimErrorCodes.internal;
      reason = `internal error: ${safeDetail(outcome.cause instanceof Error ? outcome.cause.message : String(outcome.cause))}`;
      break;
  }
  const keyBits = key?.bits;
  const comment = result === "pass" ? (key === undefined ? undefined : `${key.bits}-bit ${key.keyType} key${key.testing ? ", testing" : ""}`) : reason;
  return {
    result,
    ...(reason !== undefined && { reason }),
    ...(code !== undefined && { code }),
    domain: facts.domain,
    identity: facts.identity,
    selector: facts.selector,
    algorithm: facts.algorithm,
    headerB: facts.headerB,
    ...(facts.canonicalization !== undefined && { canonicalization: facts.canonicalization }),
    ...(facts.signedHeaders !== undefined && { signedHeaders: facts.signedHeaders }),
    ...(facts.bodyLength !== undefined && { bodyLength: facts.bodyLength }),
    ...(facts.timestamp !== undefined && { timestamp: facts.timestamp }),
    ...(facts.expiration !== undefined && { expiration: facts.expiration }),
    ...(keyBits !== undefined && { keyBits }),
    ...(key !== undefined && { testing: key.testing }),
    authResults: authResultsFragment(result, comment, facts),
  };
}

/** `dkim=<result> (<comment>) header.d=… header.i=… header.s=… header.a=… header.b="…"` (RFC 8601, RFC 6008). */
function authResultsFragment(result: DkimResultKind, comment: string | undefined, facts: SignatureFacts): string {
  let out = `dkim=${result}`;
  if (comment !== undefined && comment !== "") out += ` (${commentSafe(comment)})`;
  if (facts.domain !== "") out += ` header.d=${facts.domain}`;
  if (facts.identity !== "") out += ` header.i=${identityValue(facts.identity)}`;
  if (facts.selector !== "") out += ` header.s=${facts.selector}`;
  if (facts.algorithm !== "" && isToken(facts.algorithm)) out += ` header.a=${facts.algorithm}`;
  if (facts.headerB !== "") out += ` header.b=${quoted(facts.headerB)}`;
  return out;
}

/** A comment's text: printable ASCII and spaces, no parentheses or backslashes, capped. */
function commentSafe(s: string): string {
  let out = "";
  for (let i = 0; i < s.length && i < 120; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x5c ? s.charAt(i) : "?";
  }
  return out;
}

function isToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || '()<>@,;:\\"/[]?='.includes(s.charAt(i))) return false;
  }
  return s.length > 0;
}

/** header.i is `[local-part] "@" domain`: written as is when it is a dot-atom address, else quoted. */
function identityValue(i: string): string {
  const at = i.lastIndexOf("@");
  const local = i.slice(0, at);
  let atomOk = at >= 0;
  for (let k = 0; atomOk && k < local.length; k++) {
    const c = local.charCodeAt(k);
    atomOk = c > 0x20 && c < 0x7f && !'()<>@,;:\\"[]'.includes(local.charAt(k));
  }
  return atomOk ? i : quoted(i);
}

function quoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
}

/** Authentication-Results fragments for the results; `["dkim=none"]` for an unsigned message. */
export function dkimAuthResults(results: readonly DkimResult[]): string[] {
  return results.length === 0 ? ["dkim=none"] : results.map((r) => r.authResults);
}
