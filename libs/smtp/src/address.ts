/**
 * RFC 5321 section 4.1.2 paths: Reverse-path / Forward-path, source routes
 * (accepted and ignored, section 4.1.1.3 and appendix C), quoted local parts,
 * address literals, and RFC 6531 UTF-8 in local parts and domains.
 *
 * SECURITY: the input is a client's command argument. Parsing is a single
 * left-to-right pass with no backtracking and no regular expressions over
 * attacker-sized input, so cost is linear in the (already length-capped) line.
 */
import { isIPv4, isIPv6 } from "node:net";

export interface Mailbox {
  /** local part as transmitted; a quoted local part keeps its quotes */
  readonly localPart: string;
  /** domain or address literal as transmitted; "" only for RCPT TO:<Postmaster> */
  readonly domain: string;
  /** localPart@domain, or the bare local part for <Postmaster> */
  readonly address: string;
  /** contains non-ASCII characters: needs SMTPUTF8 (RFC 6531) */
  readonly utf8: boolean;
}

export type PathResult =
  | { readonly ok: true; readonly mailbox: Mailbox | null; readonly rest: string }
  | { readonly ok: false; readonly reason: string };

export interface PathOptions {
  /** the null reverse-path <> is valid (MAIL FROM) */
  allowNull?: boolean;
  /** <Postmaster> without a domain is valid (RCPT TO, RFC 5321 section 4.5.1) */
  allowPostmaster?: boolean;
}

const atextSpecials = "!#$%&'*+-/=?^_`{|}~";

function isAtext(c: string): boolean {
  const code = c.charCodeAt(0);
  return (
    (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) ||
    code > 0x7f || atextSpecials.includes(c)
  );
}

function isLetDig(c: string): boolean {
  const code = c.charCodeAt(0);
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code > 0x7f;
}

const fail = (reason: string): PathResult => ({ ok: false, reason });

/**
 * Domain = sub-domain *("." sub-domain); returns the end index or -1. U-labels
 * are measured in UTF-16 code units: the 63/255 caps are sanity bounds here,
 * not DNS length checks.
 */
export function scanDomain(s: string, start: number): number {
  let i = start;
  for (;;) {
    const labelStart = i;
    if (i >= s.length || !isLetDig(s[i] ?? "")) return -1;
    while (i < s.length && (isLetDig(s[i] ?? "") || s[i] === "-")) i++;
    if (s[i - 1] === "-" || i - labelStart > 63) return -1;
    if (s[i] !== ".") break;
    i++;
  }
  return i - start > 255 ? -1 : i;
}

/** "[" (IPv4 / "IPv6:" IPv6) "]"; returns the end index (after "]") or -1. */
function scanAddressLiteral(s: string, start: number): number {
  const close = s.indexOf("]", start);
  if (close < 0) return -1;
  const inner = s.slice(start + 1, close);
  if (isIPv4(inner)) return close + 1;
  if (/^ipv6:/i.test(inner) && isIPv6(inner.slice(5))) return close + 1;
  return -1;
}

/** Quoted-string per RFC 5321 (qtextSMTP / quoted-pairSMTP); returns the end index or -1. */
function scanQuoted(s: string, start: number): number {
  let i = start + 1;
  while (i < s.length) {
    const code = s.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code === 0x5c) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0x20 && next <= 0x7e)) return -1;
      i += 2;
      continue;
    }
    if (!((code >= 0x20 && code <= 0x7e) || code > 0x7f)) return -1;
    i++;
  }
  return -1;
}

/** Dot-string = Atom *("." Atom); returns the end index or -1. */
function scanDotString(s: string, start: number): number {
  let i = start;
  for (;;) {
    const atomStart = i;
    while (i < s.length && isAtext(s[i] ?? "")) i++;
    if (i === atomStart) return -1;
    if (s[i] !== ".") return i;
    i++;
  }
}

/** Skips "@dom,@dom:" (A-d-l); returns the index after ":" or -1. */
function skipSourceRoute(s: string, start: number): number {
  let i = start;
  for (;;) {
    if (s[i] !== "@") return -1;
    i = scanDomain(s, i + 1);
    if (i < 0) return -1;
    if (s[i] === ":") return i + 1;
    if (s[i] !== ",") return -1;
    i++;
  }
}

const nonAscii = /[^\x00-\x7f]/;

/** Parses "<...>" at the start of text; rest is whatever follows ">". */
export function parsePath(text: string, opts: PathOptions = {}): PathResult {
  if (text[0] !== "<") return fail("path must start with <");
  if (text[1] === ">") {
    return opts.allowNull ? { ok: true, mailbox: null, rest: text.slice(2) } : fail("null path not allowed here");
  }
  let i = 1;
  if (text[i] === "@") {
    i = skipSourceRoute(text, i);
    if (i < 0) return fail("bad source route");
  }
  const localStart = i;
  i = text[i] === '"' ? scanQuoted(text, i) : scanDotString(text, i);
  if (i < 0) return fail("bad local part");
  const localPart = text.slice(localStart, i);
  if (text[i] === ">" && opts.allowPostmaster && localPart.toLowerCase() === "postmaster") {
    return { ok: true, mailbox: { localPart, domain: "", address: localPart, utf8: false }, rest: text.slice(i + 1) };
  }
  if (text[i] !== "@") return fail("missing @domain");
  const domainStart = i + 1;
  i = text[domainStart] === "[" ? scanAddressLiteral(text, domainStart) : scanDomain(text, domainStart);
  if (i < 0) return fail("bad domain");
  if (text[i] !== ">") return fail("path must end with >");
  const domain = text.slice(domainStart, i);
  const address = `${localPart}@${domain}`;
  return { ok: true, mailbox: { localPart, domain, address, utf8: nonAscii.test(address) }, rest: text.slice(i + 1) };
}
