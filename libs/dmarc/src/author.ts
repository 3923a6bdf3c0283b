/**
 * The Author Domain: the domain of the RFC 5322 From field (RFC 7489 3.1 /
 * RFC 9989 5.3.1). Headers are read from the raw message header section, the
 * From field's mailboxes parsed (display names, quoted strings, comments,
 * groups, obsolete routes) and each domain normalised to a lower-case A-label.
 *
 * SECURITY: header text is hostile. The header section read is capped, the
 * scanners are linear, and a mailbox whose domain cannot be read is not
 * skipped: it makes the author unknown ("invalid"), so that an unparsable
 * second mailbox cannot hide a domain a reader sees.
 */
import { domainToASCII } from "node:url";
import { validName } from "./lookup";

export interface HeaderField {
  /** Field name as written. */
  readonly name: string;
  /** Unfolded value (CRLF + WSP replaced by the WSP), without the leading space. */
  readonly value: string;
}

/** Header section bytes we look at; From is near the top in practice. */
export const MAX_HEADER_BYTES = 256 * 1024;

/** The header section as text (latin1 for bytes), capped at MAX_HEADER_BYTES; may run past its end. */
function headerText(message: string | Uint8Array): string {
  if (typeof message === "string") return message.length > MAX_HEADER_BYTES ? message.slice(0, MAX_HEADER_BYTES) : message;
  // Only the header section is decoded: find its end in the bytes first.
  const bytes = Buffer.from(message.buffer, message.byteOffset, Math.min(message.byteLength, MAX_HEADER_BYTES));
  return bytes.toString("latin1", 0, headerBytes(bytes));
}

/** Splits the header section of a raw message (up to the first empty line) into fields. */
export function parseHeaderFields(message: string | Uint8Array): HeaderField[] {
  const text = headerText(message);
  const end = headerEnd(text);
  const lines = text.slice(0, end).split(/\r?\n/);
  const fields: { name: string; value: string }[] = [];
  for (const line of lines) {
    if (line === "") break;
    if ((line[0] === " " || line[0] === "\t") && fields.length > 0) {
      const last = fields[fields.length - 1];
      if (last) last.value += line;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).replace(/^[ \t]+/, "") });
  }
  return fields;
}

/**
 * The From field values of a raw message: exactly fromValues(parseHeaderFields(message)),
 * in one pass that keeps only From fields (a DMARC check needs nothing else). Lines are
 * split as /\r?\n/ splits them, continuation lines go to the field before them (a
 * From field's own, or are dropped with any other field), and names compare after trim.
 */
export function fromFieldValues(message: string | Uint8Array): string[] {
  const text = headerText(message);
  const end = headerEnd(text);
  const values: string[] = [];
  let field: "none" | "from" | "other" = "none";
  let start = 0;
  for (;;) {
    const lf = text.indexOf("\n", start);
    const last = lf < 0 || lf >= end;
    const stop = last ? end : lf > start && text.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf;
    if (stop > start) {
      const c = text.charCodeAt(start);
      if ((c === 0x20 || c === 0x09) && field !== "none") {
        if (field === "from") values[values.length - 1] += text.slice(start, stop);
      } else {
        const colon = text.indexOf(":", start);
        if (colon > start && colon < stop) {
          field = colon - start >= 4 && isFromName(text.slice(start, colon)) ? "from" : "other";
          if (field === "from") {
            let v = colon + 1;
            while (v < stop && (text.charCodeAt(v) === 0x20 || text.charCodeAt(v) === 0x09)) v++;
            values.push(text.slice(v, stop));
          }
        }
      }
    } else break; // the empty line (or the end of the text)
    if (last) break;
    start = lf + 1;
  }
  return values;
}

function isFromName(name: string): boolean {
  return (name.length === 4 ? name : name.trim()).toLowerCase() === "from";
}

/** Length of the header section in bytes (through the empty line), scanning only the header. */
function headerBytes(bytes: Uint8Array): number {
  for (let i = bytes.indexOf(10); i >= 0 && i < bytes.length - 1; i = bytes.indexOf(10, i + 1)) {
    if (bytes[i + 1] === 10) return i + 2;
    if (bytes[i + 1] === 13 && bytes[i + 2] === 10) return i + 3;
  }
  return bytes.length;
}

function headerEnd(text: string): number {
  const crlf = text.indexOf("\r\n\r\n");
  const lf = text.indexOf("\n\n");
  if (crlf < 0) return lf < 0 ? text.length : lf + 1;
  return lf < 0 ? crlf + 2 : Math.min(crlf + 2, lf + 1);
}

const COMMENT_OR_QUOTE = /[("\\]/;

/** Removes comments (nested, with quoted-pairs), keeping quoted strings intact. */
export function stripComments(value: string): string {
  // Without "(", '"' or "\\" nothing below changes the text (a lone ")" is kept).
  if (!COMMENT_OR_QUOTE.test(value)) return value;
  let out = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === "\\" && (quoted || depth > 0)) {
      if (depth === 0) out += c + (value[i + 1] ?? "");
      i++;
      continue;
    }
    if (depth === 0 && c === '"') quoted = !quoted;
    if (!quoted) {
      if (c === "(") {
        depth++;
        continue;
      }
      if (c === ")" && depth > 0) {
        depth--;
        out += " ";
        continue;
      }
    }
    if (depth === 0) out += c;
  }
  return out;
}

/**
 * Splits an address list at commas outside quoted strings, angle brackets and domain literals.
 * A mailbox is the text between separators (a group's display name dropped), taken as a slice.
 */
export function splitMailboxes(value: string): string[] {
  const out: string[] = [];
  const take = (from: number, to: number): void => {
    const m = value.slice(from, to).trim();
    if (m !== "") out.push(m);
  };
  let start = 0;
  let quoted = false;
  let angle = false;
  let literal = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++; // a quoted-pair: the next character is part of the string
      else if (c === 0x22) quoted = false;
      continue;
    }
    if (c === 0x22) quoted = true;
    else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x5b) literal = true;
    else if (c === 0x5d) literal = false;
    else if ((c === 0x2c || c === 0x3b) && !angle && !literal) {
      take(start, i);
      start = i + 1;
    } else if (c === 0x3a && !angle && !literal) {
      // group display name ("undisclosed:") ends here, unless the text so far has an "@"
      const at = value.indexOf("@", start);
      if (at < 0 || at >= i) start = i + 1;
    }
  }
  take(start, value.length);
  return out;
}

/** The addr-spec of one mailbox: the angle-addr when present, else the whole text. */
function addrSpec(mailbox: string): string {
  const open = mailbox.lastIndexOf("<");
  if (open >= 0) {
    const close = mailbox.indexOf(">", open);
    let spec = mailbox.slice(open + 1, close < 0 ? undefined : close).trim();
    // obsolete source route "@relay:user@example"
    if (spec.startsWith("@")) {
      const colon = spec.indexOf(":");
      if (colon > 0) spec = spec.slice(colon + 1);
    }
    return spec;
  }
  return mailbox.trim();
}

const BAD_DOMAIN_CHARS = /[\s"<>(),;:\\@[\]]/;

/** Normalises a domain: lower case, A-labels, no trailing dot. Undefined when it is not a domain name. */
export function normalizeDomain(input: string): string | undefined {
  let domain = input.trim().toLowerCase();
  if (domain.charCodeAt(0) === 0x5b && DOMAIN_LITERAL.test(domain)) return domain; // a domain literal: kept, it has no DMARC record
  let end = domain.length;
  while (end > 0 && domain.charCodeAt(end - 1) === 0x2e) end--;
  if (end < domain.length) domain = domain.slice(0, end);
  if (domain === "" || BAD_DOMAIN_CHARS.test(domain)) return undefined;
  const ascii = VISIBLE_ASCII.test(domain) ? domain : domainToASCII(domain);
  if (ascii === "" || !validName(ascii)) return undefined;
  return ascii;
}

const DOMAIN_LITERAL = /^\[[^[\]\\]*\]$/;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** The domain of an addr-spec: after the last "@" outside a quoted local-part. */
function specDomain(spec: string): string | undefined {
  let quoted = false;
  let at = -1;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === "\\" && quoted) {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (c === "@" && !quoted) at = i;
  }
  if (at < 0) return undefined;
  return normalizeDomain(spec.slice(at + 1));
}

export type AuthorResult =
  | { readonly kind: "one"; readonly domain: string; readonly mailboxes: number }
  | {
      readonly kind: "none" | "multiple-domains" | "invalid" | "multiple-fields";
      readonly domains: readonly string[];
      readonly mailboxes: number;
    };

/**
 * The Author Domain(s) from the From field values. Several mailboxes are fine
 * when they share one domain; several From fields, several domains, a mailbox
 * without a readable domain or no From at all leave no single Author Domain.
 */
export function authorDomains(fromValues: readonly string[]): AuthorResult {
  const domains: string[] = [];
  let invalid = false;
  let mailboxes = 0;
  for (const value of fromValues) {
    for (const mailbox of splitMailboxes(stripComments(value))) {
      mailboxes++;
      const domain = specDomain(addrSpec(mailbox));
      if (domain === undefined) invalid = true;
      else if (!domains.includes(domain)) domains.push(domain);
    }
  }
  if (fromValues.length > 1) return { kind: "multiple-fields", domains, mailboxes };
  if (invalid && domains.length > 0) return { kind: "invalid", domains, mailboxes };
  const [only] = domains;
  if (domains.length === 1 && only !== undefined) return { kind: "one", domain: only, mailboxes };
  return { kind: domains.length > 1 ? "multiple-domains" : "none", domains, mailboxes };
}

/** From field values of a header list (names compared case-insensitively). */
export function fromValues(fields: readonly HeaderField[]): string[] {
  return fields.filter((f) => f.name.toLowerCase() === "from").map((f) => f.value);
}
