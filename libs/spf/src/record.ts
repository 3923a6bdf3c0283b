/**
 * RFC 7208 sections 4.5, 4.6 and 12: recognise a v=spf1 record and parse it
 * into a typed structure. The whole record is checked before anything is
 * evaluated, so a syntax error anywhere is permerror (section 4.6). Known
 * modifiers are not greedy: a malformed redirect= or exp= is an error, not an
 * unknown modifier.
 */
import { SpfSyntaxError } from "./errors";
import { parseIPv4, parseIPv6 } from "./ip";
import { type MacroToken, parseMacroString } from "./macro";
import { endsWithToplabel, stripDot } from "./names";

export const qualifierResults = { "+": "pass", "-": "fail", "~": "softfail", "?": "neutral" } as const;
export type Qualifier = keyof typeof qualifierResults;
export type QualifierResult = (typeof qualifierResults)[Qualifier];

/** A parsed domain-spec: macro tokens, and whether `%{p}` must be resolved first. */
export interface DomainSpec {
  readonly text: string;
  readonly tokens: readonly MacroToken[];
  readonly usesP: boolean;
  /** For a domain-spec without macros: the target name, trailing dot dropped. */
  readonly literal: string | undefined;
}

export type Mechanism =
  | { readonly kind: "all" }
  | { readonly kind: "include"; readonly domain: DomainSpec }
  | { readonly kind: "a" | "mx"; readonly domain: DomainSpec | undefined; readonly cidr4: number; readonly cidr6: number }
  | { readonly kind: "ptr"; readonly domain: DomainSpec | undefined }
  | { readonly kind: "ip4" | "ip6"; readonly network: Uint8Array; readonly cidr: number }
  | { readonly kind: "exists"; readonly domain: DomainSpec };

export type MechanismKind = Mechanism["kind"];

export interface Directive {
  readonly qualifier: Qualifier;
  readonly mechanism: Mechanism;
  /** The term as published, for Received-SPF `mechanism=`. */
  readonly text: string;
}

export interface SpfRecord {
  readonly text: string;
  readonly directives: readonly Directive[];
  /** Absent when the record has none, or has an "all" (section 6.1: then it is ignored). */
  readonly redirect: DomainSpec | undefined;
  readonly exp: DomainSpec | undefined;
  readonly unknownModifiers: readonly { readonly name: string; readonly value: string }[];
}

export type RecordParse = { readonly ok: true; readonly record: SpfRecord } | { readonly ok: false; readonly error: SpfSyntaxError };

/** Section 4.5: "v=spf1" (any case) followed by a space or the end. */
export function isSpfRecord(text: string): boolean {
  return text.length >= 6 && text.slice(0, 6).toLowerCase() === "v=spf1" && (text.length === 6 || text.charAt(6) === " ");
}

function parseDomainSpec(text: string, term: string): DomainSpec | SpfSyntaxError {
  if (text === "") return new SpfSyntaxError("empty domain-spec", term);
  const parsed = parseMacroString(text, "domain");
  if (!parsed.ok) return new SpfSyntaxError(parsed.error.reason, term);
  const { value } = parsed;
  if (!value.endsWithMacro && !endsWithToplabel(value.trailingLiteral)) {
    return new SpfSyntaxError("domain-spec must end in a macro or a valid toplabel", term);
  }
  const only = value.tokens.length === 1 ? value.tokens[0] : undefined;
  const literal = only?.kind === "literal" ? stripDot(only.text) : undefined;
  return { text, tokens: value.tokens, usesP: value.usesP, literal };
}

/** `0` or a number without leading zeros, at most `max`. */
function cidr(text: string | undefined, max: number): number | undefined {
  if (text === undefined || text === "" || text.length > 3) return undefined;
  if (text.length > 1 && text.startsWith("0")) return undefined;
  for (const ch of text) if (ch < "0" || ch > "9") return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

const DUAL_CIDR = /^(?:\/(\d+))?(?:\/\/(\d+))?$/;

/** Split `[":" domain-spec] [dual-cidr-length]` off an a/mx term. */
function parseDualCidr(rest: string, term: string): { domain: string | undefined; cidr4: number; cidr6: number } | SpfSyntaxError {
  let domain: string | undefined;
  let tail = rest;
  if (rest.startsWith(":")) {
    // The cidr suffix is the longest match of DUAL_CIDR at the end: find the first '/' that starts one.
    // A suffix is at most "/32//128", so only the last 8 characters need looking at.
    const body = rest.slice(1);
    let cut = body.length;
    for (let i = body.indexOf("/", Math.max(0, body.length - 8)); i !== -1; i = body.indexOf("/", i + 1)) {
      if (DUAL_CIDR.test(body.slice(i))) {
        cut = i;
        break;
      }
    }
    domain = body.slice(0, cut);
    tail = body.slice(cut);
  }
  const m = DUAL_CIDR.exec(tail);
  if (!m) return new SpfSyntaxError("invalid mechanism arguments", term);
  const cidr4 = m[1] === undefined ? 32 : cidr(m[1], 32);
  const cidr6 = m[2] === undefined ? 128 : cidr(m[2], 128);
  if (cidr4 === undefined || cidr6 === undefined) return new SpfSyntaxError("invalid CIDR length", term);
  return { domain, cidr4, cidr6 };
}

function parseIpMechanism(kind: "ip4" | "ip6", rest: string, term: string): Mechanism | SpfSyntaxError {
  if (!rest.startsWith(":")) return new SpfSyntaxError(`${kind} needs an address`, term);
  const body = rest.slice(1);
  const slash = body.indexOf("/");
  const addr = slash === -1 ? body : body.slice(0, slash);
  const max = kind === "ip4" ? 32 : 128;
  const length = slash === -1 ? max : cidr(body.slice(slash + 1), max);
  if (length === undefined) return new SpfSyntaxError("invalid CIDR length", term);
  const network = kind === "ip4" ? parseIPv4(addr) : parseIPv6(addr);
  if (!network) return new SpfSyntaxError(`invalid ${kind} address`, term);
  return { kind, network, cidr: length };
}

function parseMechanism(name: string, rest: string, term: string): Mechanism | SpfSyntaxError {
  switch (name) {
    case "all":
      return rest === "" ? { kind: "all" } : new SpfSyntaxError("all takes no arguments", term);
    case "include":
    case "exists": {
      if (!rest.startsWith(":")) return new SpfSyntaxError(`${name} needs a domain-spec`, term);
      const domain = parseDomainSpec(rest.slice(1), term);
      return domain instanceof SpfSyntaxError ? domain : { kind: name, domain };
    }
    case "ptr": {
      if (rest === "") return { kind: "ptr", domain: undefined };
      if (!rest.startsWith(":")) return new SpfSyntaxError("ptr takes only a domain-spec", term);
      const domain = parseDomainSpec(rest.slice(1), term);
      return domain instanceof SpfSyntaxError ? domain : { kind: "ptr", domain };
    }
    case "a":
    case "mx": {
      const parts = parseDualCidr(rest, term);
      if (parts instanceof SpfSyntaxError) return parts;
      const domain = parts.domain === undefined ? undefined : parseDomainSpec(parts.domain, term);
      if (domain instanceof SpfSyntaxError) return domain;
      return { kind: name, domain, cidr4: parts.cidr4, cidr6: parts.cidr6 };
    }
    case "ip4":
    case "ip6":
      return parseIpMechanism(name, rest, term);
    default:
      return new SpfSyntaxError("unknown mechanism", term);
  }
}

function modifierName(term: string): string | undefined {
  const eq = term.indexOf("=");
  if (eq < 1) return undefined;
  const first = term.charCodeAt(0) | 0x20;
  if (first < 0x61 || first > 0x7a) return undefined;
  for (let i = 1; i < eq; i++) {
    const c = term.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x2d || c === 0x5f || c === 0x2e;
    if (!ok) return undefined;
  }
  return term.slice(0, eq).toLowerCase();
}

function hasOnlyVisibleAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Parse one record's text (the character-strings already joined). */
export function parseRecord(text: string): RecordParse {
  const bad = (error: SpfSyntaxError): RecordParse => ({ ok: false, error });
  if (!isSpfRecord(text)) return bad(new SpfSyntaxError("not a v=spf1 record"));
  const directives: Directive[] = [];
  const unknownModifiers: { name: string; value: string }[] = [];
  let redirect: DomainSpec | undefined;
  let exp: DomainSpec | undefined;
  let hasAll = false;
  for (const term of text.slice(6).split(" ")) {
    if (term === "") continue;
    if (!hasOnlyVisibleAscii(term)) return bad(new SpfSyntaxError("invalid character (only visible ASCII is allowed)", term));
    const name = modifierName(term);
    if (name !== undefined) {
      const value = term.slice(name.length + 1);
      if (name === "redirect" || name === "exp") {
        if ((name === "redirect" ? redirect : exp) !== undefined) return bad(new SpfSyntaxError(`${name}= may appear only once`, term));
        const spec = parseDomainSpec(value, term);
        if (spec instanceof SpfSyntaxError) return bad(spec);
        if (name === "redirect") redirect = spec;
        else exp = spec;
      } else {
        const parsed = parseMacroString(value, "modifier");
        if (!parsed.ok) return bad(new SpfSyntaxError("invalid macro-string in modifier", term));
        unknownModifiers.push({ name, value });
      }
      continue;
    }
    const first = term.charAt(0);
    const qualified = first in qualifierResults;
    const qualifier = (qualified ? first : "+") as Qualifier;
    const body = qualified ? term.slice(1) : term;
    let end = 0;
    while (end < body.length && body.charAt(end) !== ":" && body.charAt(end) !== "/") end++;
    const mechanism = parseMechanism(body.slice(0, end).toLowerCase(), body.slice(end), term);
    if (mechanism instanceof SpfSyntaxError) return bad(mechanism);
    if (mechanism.kind === "all") hasAll = true;
    directives.push({ qualifier, mechanism, text: term });
  }
  return { ok: true, record: { text, directives, redirect: hasAll ? undefined : redirect, exp, unknownModifiers } };
}

/** The mechanisms and modifiers that cost one of the 10 DNS lookups (section 4.6.4). */
export function isDnsTerm(kind: MechanismKind): boolean {
  return kind === "include" || kind === "a" || kind === "mx" || kind === "ptr" || kind === "exists";
}
