/**
 * Text built from a verdict: the Received-SPF header of RFC 7208 section 9.1,
 * the Authentication-Results fragment of RFC 8601, and Exim's comment
 * variables. Every field can hold hostile text (MAIL FROM, HELO, record
 * terms): control characters become "?", fields are capped so the header stays
 * under RFC 5322's 998-octet line limit unfolded, and values are quoted where
 * the grammar needs it.
 */
import { type SpfIdentity, type SpfResult } from "./results";

export interface HeaderFacts {
  readonly result: SpfResult;
  readonly identity: SpfIdentity;
  /** The <sender> check_host() used (postmaster@helo for the HELO identity). */
  readonly sender: string;
  readonly helo: string;
  /** Client address in readable form. */
  readonly ip: string;
  readonly receiver: string;
  readonly mechanism: string | undefined;
  readonly problem: string | undefined;
}

/** Longest user-controlled field put into a header. */
const FIELD_MAX = 96;
/** Longest SMTP comment or explanation (fits one reply line with code and enhanced code). */
export const SMTP_TEXT_MAX = 400;

function cap(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

const PRINTABLE = /^[\x20-\x7e]*$/;

/** Replace control characters (C0, DEL, C1) with "?" and cap the length. */
function clean(text: string, max = FIELD_MAX): string {
  if (text.length <= max && PRINTABLE.test(text)) return text;
  let out = "";
  for (const ch of cap(text, max)) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? "?" : ch;
  }
  return out;
}

/** Printable ASCII only, for SMTP replies. */
export function smtpSafe(text: string, max = SMTP_TEXT_MAX): string {
  if (text.length <= max && PRINTABLE.test(text)) return text;
  let out = "";
  for (const ch of cap(text, max)) {
    const c = ch.codePointAt(0) ?? 0;
    out += c >= 0x20 && c <= 0x7e ? ch : "?";
  }
  return out;
}

/** atext (RFC 5322 3.2.3) by character code: letters, digits and !#$%&'*+-/=?^_`{|}~ */
const ATEXT = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~") ATEXT[c.charCodeAt(0)] = 1;

/** dot-atom-text (RFC 5322 3.2.3): atext runs joined by single dots. One pass, no regex (several fields per verdict). */
export function isDotAtom(text: string): boolean {
  if (text.length === 0) return false;
  let afterDot = true; // no dot first, none doubled
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (afterDot) return false;
      afterDot = true;
    } else if (c < 128 && ATEXT[c] === 1) {
      afterDot = false;
    } else {
      return false;
    }
  }
  return !afterDot;
}

function quoted(text: string): string {
  if (!text.includes('"') && !text.includes("\\")) return `"${text}"`;
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** RFC 7208 key-value value: dot-atom when possible, else quoted-string. */
function kvValue(text: string): string {
  return kvOfClean(clean(text));
}

function kvOfClean(value: string): string {
  return isDotAtom(value) ? value : quoted(value);
}

/** True when `text` has a character a comment must escape: "(", ")" or "\\". */
function hasCommentSpecials(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x28 || c === 0x29 || c === 0x5c) return true;
  }
  return false;
}

/** Backslash-escape "(", ")" and "\\" for a comment. */
function commentText(text: string): string {
  return text.replace(/[()\\]/g, (ch) => `\\${ch}`);
}

/** Exim's $spf_header_comment from cleaned receiver and sender. */
function commentFor(result: SpfResult, r: string, s: string, ip: string): string {
  switch (result) {
    case "pass":
      return `${r}: domain of ${s} designates ${ip} as permitted sender`;
    case "fail":
      return `${r}: domain of ${s} does not designate ${ip} as permitted sender`;
    case "softfail":
      return `${r}: domain of transitioning ${s} does not designate ${ip} as permitted sender`;
    case "neutral":
      return `${r}: ${ip} is neither permitted nor denied by domain of ${s}`;
    case "none":
      return `${r}: domain of ${s} does not designate permitted sender hosts`;
    case "permerror":
      return `${r}: permanent error in processing domain of ${s}`;
    case "temperror":
      return `${r}: temporary error in processing domain of ${s}`;
  }
}

/** Exim's $spf_header_comment: a human-readable sentence about the outcome. */
export function headerComment(f: HeaderFacts): string {
  return commentFor(f.result, clean(f.receiver), clean(f.sender), f.ip);
}

/** The receiver's cleaned and key-value forms: one receiver per checker, so they are kept for the next verdict. */
let receiverForms: { readonly raw: string; readonly clean: string; readonly kv: string; readonly specials: boolean } | undefined;

function receiverOf(raw: string): { readonly clean: string; readonly kv: string; readonly specials: boolean } {
  if (receiverForms?.raw !== raw) {
    const cleaned = clean(raw);
    receiverForms = { raw, clean: cleaned, kv: kvValue(raw), specials: hasCommentSpecials(cleaned) };
  }
  return receiverForms;
}

/** The text a verdict carries, built together so that each hostile field is cleaned once. */
export interface HeaderTexts {
  /** Exim's $spf_header_comment. */
  readonly comment: string;
  /** The Received-SPF field value (without the field name), one line. */
  readonly receivedSpf: string;
  /** The SPF part of an Authentication-Results field: `spf=pass smtp.mailfrom=user@example.com`. */
  readonly authResults: string;
}

export function headerTexts(f: HeaderFacts): HeaderTexts {
  const receiver = receiverOf(f.receiver);
  const sender = clean(f.sender);
  const comment = commentFor(f.result, receiver.clean, sender, f.ip);
  // RFC 7208 9.1 key-value pairs, in this order
  let pairs = `client-ip=${kvValue(f.ip)}; envelope-from=${kvOfClean(sender)}; helo=${kvValue(f.helo)}; receiver=${receiver.kv}; identity=${f.identity}`;
  if (f.mechanism !== undefined) pairs += `; mechanism=${kvValue(f.mechanism)}`;
  if (f.problem !== undefined) pairs += `; problem=${kvValue(f.problem)}`;
  const reason = f.problem !== undefined ? ` reason=${quoted(clean(f.problem))}` : "";
  const property = f.identity === "helo" ? `smtp.helo=${pvalueOfClean(clean(f.helo))}` : `smtp.mailfrom=${pvalueOfClean(sender)}`;
  // Only its fields can bring "(", ")" or "\\" into the comment (the rest is our text), so the fields
  // are scanned (the receiver once per checker), not the concatenated, unflattened comment.
  const escaped = receiver.specials || hasCommentSpecials(sender) || hasCommentSpecials(f.ip) ? commentText(comment) : comment;
  return { comment, receivedSpf: `${f.result} (${escaped}) ${pairs}`, authResults: `spf=${f.result}${reason} ${property}` };
}

/** RFC 8601 pvalue: an address or domain that is dot-atom text, else a quoted-string. */
function pvalueOfClean(value: string): string {
  const at = value.lastIndexOf("@");
  const plain = at === -1 ? isDotAtom(value) : (at === 0 || isDotAtom(value.slice(0, at))) && isDotAtom(value.slice(at + 1));
  return plain ? value : quoted(value);
}
