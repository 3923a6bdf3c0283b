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

/** dot-atom-text (RFC 5322 3.2.3): atext runs joined by single dots. Linear: "." is not atext, so the runs cannot overlap. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;

function isDotAtom(text: string): boolean {
  return DOT_ATOM.test(text);
}

function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** RFC 7208 key-value value: dot-atom when possible, else quoted-string. */
function kvValue(text: string): string {
  const value = clean(text);
  return isDotAtom(value) ? value : quoted(value);
}

function commentText(text: string): string {
  return text.replace(/[()\\]/g, (c) => `\\${c}`);
}

/** Exim's $spf_header_comment: a human-readable sentence about the outcome. */
export function headerComment(f: HeaderFacts): string {
  const r = clean(f.receiver);
  const s = clean(f.sender);
  const ip = f.ip;
  switch (f.result) {
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

/** The Received-SPF field value (without the field name), one line. */
export function receivedSpfValue(f: HeaderFacts): string {
  const pairs = [
    `client-ip=${kvValue(f.ip)}`,
    `envelope-from=${kvValue(f.sender)}`,
    `helo=${kvValue(f.helo)}`,
    `receiver=${kvValue(f.receiver)}`,
    `identity=${f.identity}`,
  ];
  if (f.mechanism !== undefined) pairs.push(`mechanism=${kvValue(f.mechanism)}`);
  if (f.problem !== undefined) pairs.push(`problem=${kvValue(f.problem)}`);
  return `${f.result} (${commentText(headerComment(f))}) ${pairs.join("; ")}`;
}

/** RFC 8601 pvalue: an address or domain that is dot-atom text, else a quoted-string. */
function pvalue(text: string): string {
  const value = clean(text);
  const at = value.lastIndexOf("@");
  const plain = at === -1 ? isDotAtom(value) : (at === 0 || isDotAtom(value.slice(0, at))) && isDotAtom(value.slice(at + 1));
  return plain ? value : quoted(value);
}

/** The SPF part of an Authentication-Results field: `spf=pass smtp.mailfrom=user@example.com`. */
export function authResultsFragment(f: HeaderFacts): string {
  const reason = f.problem !== undefined ? ` reason=${quoted(clean(f.problem))}` : "";
  const property = f.identity === "helo" ? `smtp.helo=${pvalue(f.helo)}` : `smtp.mailfrom=${pvalue(f.sender)}`;
  return `spf=${f.result}${reason} ${property}`;
}
