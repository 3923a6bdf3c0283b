/**
 * RFC 7208 section 7: macro-strings. Parsing checks the grammar once (when a
 * record is parsed); expansion is synchronous and capped in length. The `%{p}`
 * value needs DNS, so the evaluator resolves it first when a string uses it
 * (`usesP`) and passes it in with the other variables.
 */
import { SpfSyntaxError } from "./errors";

export type MacroLetter = "s" | "l" | "o" | "d" | "i" | "p" | "h" | "c" | "r" | "t" | "v";

export type MacroToken =
  | { readonly kind: "literal"; readonly text: string }
  | {
      readonly kind: "macro";
      readonly letter: MacroLetter;
      /** Uppercase letter: URL-escape the result (section 7.3). */
      readonly escape: boolean;
      /** Rightmost parts to keep; 0 keeps all. */
      readonly parts: number;
      readonly reverse: boolean;
      /** Delimiters to split on; empty means ".". */
      readonly delimiters: string;
    };

/**
 * Where a macro-string appears: a domain-spec (c, r, t are forbidden), the
 * explanation text fetched by exp= (spaces and c, r, t allowed), or the value
 * of an unknown modifier (checked for grammar only).
 */
export type MacroPlace = "domain" | "explanation" | "modifier";

export interface MacroString {
  readonly tokens: readonly MacroToken[];
  /** Literal text after the last macro-expand (for the domain-end rule). */
  readonly trailingLiteral: string;
  /** The string ends with a macro-expand (including %%, %_ and %-). */
  readonly endsWithMacro: boolean;
  /** Contains `%{p}`: the caller must resolve the validated name first. */
  readonly usesP: boolean;
}

export type MacroParse = { readonly ok: true; readonly value: MacroString } | { readonly ok: false; readonly error: SpfSyntaxError };

/** The macro variables of section 7.2, all as strings. */
export interface MacroVars {
  readonly s: string;
  readonly l: string;
  readonly o: string;
  readonly d: string;
  readonly i: string;
  readonly p: string;
  readonly h: string;
  readonly c: string;
  readonly r: string;
  readonly t: string;
  readonly v: string;
}

const LETTERS = "slodiphcrtv";
const EXP_ONLY = "crt";
const DELIMITERS = ".-+,/_=";
/** Parts beyond this are "all parts" anyway: a value is at most a few hundred octets. */
const MAX_PARTS = 1024;

function fail(message: string, text: string): MacroParse {
  return { ok: false, error: new SpfSyntaxError(message, text) };
}

export function parseMacroString(text: string, place: MacroPlace): MacroParse {
  const tokens: MacroToken[] = [];
  let literal = "";
  let trailing = "";
  let endsWithMacro = false;
  let usesP = false;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code !== 0x25) {
      const visible = code >= 0x21 && code <= 0x7e;
      if (!visible && !(code === 0x20 && place === "explanation")) return fail("invalid character in macro-string", text);
      literal += text.charAt(i);
      trailing += text.charAt(i);
      endsWithMacro = false;
      i++;
      continue;
    }
    const next = text.charAt(i + 1);
    if (next === "%" || next === "_" || next === "-") {
      literal += next === "%" ? "%" : next === "_" ? " " : "%20";
      i += 2;
    } else if (next === "{") {
      const close = text.indexOf("}", i + 2);
      if (close === -1) return fail("unterminated macro", text);
      const body = text.slice(i + 2, close);
      const raw = body.charAt(0);
      const letter = raw.toLowerCase();
      if (raw === "" || !LETTERS.includes(letter)) return fail("unknown macro letter", text);
      if (place === "domain" && EXP_ONLY.includes(letter)) return fail("c, r and t macros are allowed only in explanations", text);
      let j = 1;
      while (j < body.length && body.charCodeAt(j) >= 0x30 && body.charCodeAt(j) <= 0x39) j++;
      const digits = body.slice(1, j);
      const parts = digits === "" ? 0 : digits.length > 4 ? MAX_PARTS : Math.min(Number(digits), MAX_PARTS);
      if (digits !== "" && Number(digits) === 0) return fail("macro digit transformer must be nonzero", text);
      const reverse = body.charAt(j) === "r" || body.charAt(j) === "R";
      if (reverse) j++;
      const delimiters = body.slice(j);
      for (const d of delimiters) if (!DELIMITERS.includes(d)) return fail("invalid macro delimiter", text);
      if (literal !== "") tokens.push({ kind: "literal", text: literal });
      literal = "";
      if (letter === "p") usesP = true;
      tokens.push({ kind: "macro", letter: letter as MacroLetter, escape: raw !== letter, parts, reverse, delimiters });
      i = close + 1;
    } else {
      return fail("'%' must be followed by '{', '%', '_' or '-'", text);
    }
    trailing = "";
    endsWithMacro = true;
  }
  if (literal !== "") tokens.push({ kind: "literal", text: literal });
  return { ok: true, value: { tokens, trailingLiteral: trailing, endsWithMacro, usesP } };
}

function transform(value: string, token: Extract<MacroToken, { kind: "macro" }>): string {
  if (!token.reverse && token.parts === 0 && (token.delimiters === "" || token.delimiters === ".")) return value;
  const delims = token.delimiters === "" ? "." : token.delimiters;
  let parts: string[] = [];
  let current = "";
  for (const ch of value) {
    if (delims.includes(ch)) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  if (token.reverse) parts.reverse();
  if (token.parts > 0 && token.parts < parts.length) parts = parts.slice(parts.length - token.parts);
  return parts.join(".");
}

const encoder = new TextEncoder();

/** URL-escape everything outside RFC 3986's unreserved set, as section 7.3 requires. */
export function urlEscape(value: string): string {
  let out = "";
  for (const b of encoder.encode(value)) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Expand parsed tokens; the result is cut at `maxLength` characters. */
export function expandMacros(tokens: readonly MacroToken[], vars: MacroVars, maxLength: number): string {
  let out = "";
  for (const token of tokens) {
    if (token.kind === "literal") {
      out += token.text;
    } else {
      const value = transform(vars[token.letter], token);
      out += token.escape ? urlEscape(value) : value;
    }
    if (out.length > maxLength) return out.slice(0, maxLength);
  }
  return out;
}
