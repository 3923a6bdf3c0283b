/**
 * A DKIM-Signature field value parsed into a typed structure (RFC 6376 3.5),
 * with every check that needs neither DNS nor the body (6.1.1).
 *
 * SECURITY: the value is hostile. Parsing is tags.ts's linear scanner plus
 * per-tag checks with fixed caps: names ≤ 253 octets in LDH labels of ≤ 63, l=
 * ≤ 76 digits (kept as a safe integer or "larger than any body"), t=/x= ≤ 15
 * digits, h= ≤ 128 names. What a failed parse still learned (d=, s=, i=, a=,
 * the start of b=) is returned for the Authentication-Results fields.
 */
import { dkimErrorCodes, DkimVerifyError } from "./errors";
import { decodeBase64, parseDecimal, parseTagList, splitColonList, stripFws, type Tag } from "./tags";
import type { Canonicalization, CanonicalizationPair, DkimAlgorithm } from "./types";

export interface ParsedSignature {
  readonly algorithm: DkimAlgorithm;
  readonly keyType: "rsa" | "ed25519";
  readonly hash: "sha256" | "sha1";
  readonly signature: Buffer;
  readonly bodyHash: Buffer;
  readonly headerCanon: Canonicalization;
  readonly bodyCanon: Canonicalization;
  /** d=, lower-cased. */
  readonly domain: string;
  /** i= as written, or "@" + d=. */
  readonly identity: string;
  /** The domain part of i=, lower-cased. */
  readonly identityDomain: string;
  readonly selector: string;
  /** h=, lower-cased. */
  readonly signedHeaders: readonly string[];
  readonly bodyLength?: number;
  readonly timestamp?: number;
  readonly expiration?: number;
  /** Offsets (in the field value) of the b= value area to blank out when hashing the field itself. */
  readonly bStart: number;
  readonly bEnd: number;
}

/** What is known about a signature for reporting, even when it does not parse. */
export interface SignatureFacts {
  domain: string;
  identity: string;
  selector: string;
  algorithm: string;
  headerB: string;
  canonicalization?: CanonicalizationPair;
  signedHeaders?: readonly string[];
  bodyLength?: number;
  timestamp?: number;
  expiration?: number;
}

export type SignatureParse =
  | { readonly ok: true; readonly sig: ParsedSignature; readonly facts: SignatureFacts }
  | { readonly ok: false; readonly error: DkimVerifyError; readonly facts: SignatureFacts };

const MAX_SIGNED_HEADERS = 128;
const ALGORITHMS: Readonly<Record<string, { keyType: "rsa" | "ed25519"; hash: "sha256" | "sha1" }>> = {
  "rsa-sha256": { keyType: "rsa", hash: "sha256" },
  "rsa-sha1": { keyType: "rsa", hash: "sha1" },
  "ed25519-sha256": { keyType: "ed25519", hash: "sha256" },
};

/** True for a DNS name of LDH (and "_") labels, 1-63 octets each, ≤ 253 in all, no trailing dot. */
export function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  let label = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (label === 0) return false;
      label = 0;
      continue;
    }
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

/** Printable ASCII only, capped: a hostile value may appear in a reason or a header comment. */
export function safeDetail(s: string, max = 64): string {
  let out = "";
  for (let i = 0; i < s.length && out.length < max; i++) {
    const c = s.charCodeAt(i);
    out += c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x5c && c !== 0x22 ? s[i] : "?";
  }
  return s.length > max ? `${out}...` : out;
}

/** Control characters (folding included) replaced, capped: i= may hold a quoted local part or UTF-8 (RFC 8616). */
function noControls(s: string, max: number): string {
  let out = "";
  for (let i = 0; i < s.length && i < max; i++) {
    const c = s.charCodeAt(i);
    out += c < 0x20 || c === 0x7f ? "?" : s.charAt(i);
  }
  return out;
}

function bad(reason: string): DkimVerifyError {
  return new DkimVerifyError(dkimErrorCodes.signatureSyntax, reason);
}

/** Parses and checks one DKIM-Signature field value (the text after the colon, folding kept). */
export function parseSignature(value: string): SignatureParse {
  const facts: SignatureFacts = { domain: "", identity: "", selector: "", algorithm: "", headerB: "" };
  const list = parseTagList(value);
  if (!list.ok) return { ok: false, error: bad(`malformed tag list: ${list.reason}`), facts };
  const tags = list.tags;
  const get = (name: string): string | undefined => tags.get(name)?.value;

  // Collect what can be reported first, so that even a broken signature names its domain.
  const d = get("d");
  if (d !== undefined && isDnsName(d)) facts.domain = d.toLowerCase();
  const s = get("s");
  if (s !== undefined && isDnsName(s)) facts.selector = s;
  const a = get("a");
  if (a !== undefined) facts.algorithm = safeDetail(a.toLowerCase(), 32);
  const bTag: Tag | undefined = tags.get("b");
  const b = bTag === undefined ? undefined : stripFws(bTag.value);
  if (b !== undefined) facts.headerB = safeDetail(b.slice(0, 8), 8);
  const i = get("i");
  if (facts.domain !== "") facts.identity = i !== undefined ? noControls(i, 254) : `@${facts.domain}`;

  const fail = (reason: string): SignatureParse => ({ ok: false, error: bad(reason), facts });

  for (const required of ["v", "a", "b", "bh", "d", "h", "s"]) {
    if (!tags.has(required)) return fail(`missing required tag ${required}=`);
  }
  if (get("v") !== "1") return fail(`unsupported version v=${safeDetail(get("v") ?? "")}`);
  const alg = ALGORITHMS[(a ?? "").toLowerCase()];
  if (alg === undefined) return fail(`unsupported algorithm a=${facts.algorithm}`);
  if (facts.domain === "") return fail(`invalid domain d=${safeDetail(d ?? "")}`);
  if (facts.selector === "") return fail(`invalid selector s=${safeDetail(s ?? "")}`);

  const signature = decodeBase64(b ?? "");
  if (signature === undefined) return fail("b= is not base64");
  const bodyHash = decodeBase64(stripFws(get("bh") ?? ""));
  if (bodyHash === undefined) return fail("bh= is not base64");

  let headerCanon: Canonicalization = "simple";
  let bodyCanon: Canonicalization = "simple";
  const c = get("c");
  if (c !== undefined) {
    const parts = c.toLowerCase().split("/");
    const hc = parts[0];
    const bc = parts.length > 1 ? parts[1] : "simple";
    if (parts.length > 2 || !isCanon(hc) || !isCanon(bc)) return fail(`unsupported canonicalization c=${safeDetail(c)}`);
    headerCanon = hc;
    bodyCanon = bc;
  }
  facts.canonicalization = `${headerCanon}/${bodyCanon}`;

  const h = splitColonList(get("h") ?? "");
  if (h.length > MAX_SIGNED_HEADERS) return fail("h= lists too many fields");
  const signedHeaders: string[] = [];
  for (const name of h) {
    if (!isFieldName(name)) return fail("h= holds an invalid field name");
    signedHeaders.push(name.toLowerCase());
  }
  facts.signedHeaders = signedHeaders;
  if (!signedHeaders.includes("from")) return fail("h= does not include From");

  let identityDomain = facts.domain;
  if (i !== undefined) {
    const at = i.lastIndexOf("@");
    const idDomain = at === -1 ? "" : i.slice(at + 1).toLowerCase();
    if (at === -1 || !isDnsName(idDomain)) return fail("i= is not an address or @domain");
    if (idDomain !== facts.domain && !idDomain.endsWith(`.${facts.domain}`)) return fail("i= is not in d= or a subdomain of it");
    identityDomain = idDomain;
  }

  const q = get("q");
  if (q !== undefined && !splitColonList(q).some((m) => m.toLowerCase() === "dns/txt")) return fail(`unsupported query method q=${safeDetail(q)}`);

  let bodyLength: number | undefined;
  const l = get("l");
  if (l !== undefined) {
    if (parseDecimal(l, 76) === undefined) return fail("l= is not a decimal number");
    // Beyond 2^53 no body is that long; keep "larger than any body" without losing the comparison.
    bodyLength = l.length > 15 ? Number.MAX_SAFE_INTEGER : Number(l);
    facts.bodyLength = bodyLength;
  }
  let timestamp: number | undefined;
  const t = get("t");
  if (t !== undefined) {
    timestamp = parseDecimal(t, 15);
    if (timestamp === undefined) return fail("t= is not a decimal number");
    facts.timestamp = timestamp;
  }
  let expiration: number | undefined;
  const x = get("x");
  if (x !== undefined) {
    expiration = parseDecimal(x, 15);
    if (expiration === undefined) return fail("x= is not a decimal number");
    facts.expiration = expiration;
  }
  if (timestamp !== undefined && expiration !== undefined && expiration < timestamp) return fail("x= is before t=");

  const bt = bTag as Tag;
  return {
    ok: true,
    facts,
    sig: {
      algorithm: (a as string).toLowerCase() as DkimAlgorithm,
      keyType: alg.keyType,
      hash: alg.hash,
      signature,
      bodyHash,
      headerCanon,
      bodyCanon,
      domain: facts.domain,
      identity: i ?? `@${facts.domain}`,
      identityDomain,
      selector: facts.selector,
      signedHeaders,
      ...(bodyLength !== undefined && { bodyLength }),
      ...(timestamp !== undefined && { timestamp }),
      ...(expiration !== undefined && { expiration }),
      bStart: bt.rawStart,
      bEnd: bt.rawEnd,
    },
  };
}

function isCanon(v: string | undefined): v is Canonicalization {
  return v === "simple" || v === "relaxed";
}

/** RFC 5322 field-name: printable ASCII except ":", at least one character. */
export function isFieldName(name: string): boolean {
  if (name.length === 0 || name.length > 128) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x3a) return false;
  }
  return true;
}
