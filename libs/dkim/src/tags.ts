/**
 * The tag=value list of RFC 6376 section 3.2, shared by DKIM-Signature fields
 * and key records.
 *
 * SECURITY: the input is hostile (a header field of the message, or a TXT
 * record of anybody's zone). The scanner is one linear pass with no regular
 * expressions; it caps the number of tags and the length of tag names, rejects
 * control characters other than whitespace, and never echoes the input in its
 * reasons. Duplicate tags are an error (RFC 6376 3.2: "Tags with duplicate
 * names MUST NOT occur"), as is an empty tag-spec between two semicolons; one
 * trailing semicolon is allowed.
 */

export interface Tag {
  /** The tag name as written (tag names are case-sensitive, RFC 6376 3.2). */
  readonly name: string;
  /** The value without surrounding whitespace; inner FWS kept as written. */
  readonly value: string;
  /** Offset just after "=" in the input: the start of the area that b= removal blanks out. */
  readonly rawStart: number;
  /** Offset of the terminating ";" (or the end of input): the end of that area. */
  readonly rawEnd: number;
}

export type TagListParse = { readonly ok: true; readonly tags: ReadonlyMap<string, Tag> } | { readonly ok: false; readonly reason: string };

/** More tags than any real signature or key record carries. */
export const MAX_TAGS = 64;
const MAX_NAME = 32;

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const SEMI = 0x3b;
const EQ = 0x3d;

const isFws = (c: number): boolean => c === SP || c === HTAB || c === CR || c === LF;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isNameChar = (c: number): boolean => isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f;

/** Parses a tag-list. `text` is one character per octet (latin1), as header fields and TXT strings are kept. */
export function parseTagList(text: string): TagListParse {
  const tags = new Map<string, Tag>();
  const n = text.length;
  let pos = 0;
  for (;;) {
    while (pos < n && isFws(text.charCodeAt(pos))) pos++;
    if (pos >= n) break; // empty input, or one trailing ";"
    const nameStart = pos;
    if (!isAlpha(text.charCodeAt(pos))) return fail(text.charCodeAt(pos) === SEMI ? "empty tag" : "tag name must start with a letter");
    pos++;
    while (pos < n && isNameChar(text.charCodeAt(pos))) pos++;
    if (pos - nameStart > MAX_NAME) return fail("tag name too long");
    const name = text.slice(nameStart, pos);
    while (pos < n && isFws(text.charCodeAt(pos))) pos++;
    if (pos >= n || text.charCodeAt(pos) !== EQ) return fail(`tag ${name} has no "="`);
    pos++;
    const rawStart = pos;
    while (pos < n && isFws(text.charCodeAt(pos))) pos++;
    const valueStart = pos;
    let valueEnd = pos;
    for (; pos < n; pos++) {
      const c = text.charCodeAt(pos);
      if (c === SEMI) break;
      if (isFws(c)) continue;
      if (c < 0x20 || c === 0x7f) return fail(`control character in tag ${name}`);
      valueEnd = pos + 1;
    }
    if (tags.has(name)) return fail(`duplicate tag ${name}`);
    if (tags.size >= MAX_TAGS) return fail("too many tags");
    tags.set(name, { name, value: text.slice(valueStart, valueEnd), rawStart, rawEnd: pos });
    if (pos >= n) break;
    pos++; // the ";"
  }
  return { ok: true, tags };
}

function fail(reason: string): TagListParse {
  return { ok: false, reason };
}

/** Removes every FWS character (for b=, bh=, p= values, which may be folded anywhere). */
export function stripFws(value: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    if (isFws(value.charCodeAt(i))) {
      if (i > from) out += value.slice(from, i);
      from = i + 1;
    }
  }
  return from === 0 ? value : out + value.slice(from);
}

/** Splits a colon-separated list (h=, q=, key h=, s=, t=) and trims FWS around each element. */
export function splitColonList(value: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x3a) {
      out.push(trimFws(value.slice(from, i)));
      from = i + 1;
    }
  }
  return out;
}

export function trimFws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isFws(s.charCodeAt(a))) a++;
  while (b > a && isFws(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Decodes strict base64 (FWS already removed): A-Z a-z 0-9 + /, "=" padding only at the end, length a multiple of 4. */
export function decodeBase64(value: string): Buffer | undefined {
  const n = value.length;
  if (n === 0 || n % 4 !== 0) return undefined;
  let pad = 0;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === EQ) {
      pad++;
      continue;
    }
    if (pad > 0) return undefined;
    const ok = isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (!ok) return undefined;
  }
  if (pad > 2) return undefined;
  return Buffer.from(value, "base64");
}

/** A decimal number of at most `maxDigits` digits, or undefined. */
export function parseDecimal(value: string, maxDigits: number): number | undefined {
  if (value.length === 0 || value.length > maxDigits) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return Number(value);
}
