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

export interface HeaderField {
  /** Field name as written. */
  readonly name: string;
  /** Unfolded value (CRLF + WSP replaced by the WSP), without the leading space. */
  readonly value: string;
}

/** Header section bytes we look at; From is near the top in practice. */
export const MAX_HEADER_BYTES = 256 * 1024;

/** Splits the header section of a raw message (up to the first empty line) into fields. */
export function parseHeaderFields(message: string | Uint8Array): HeaderField[] {
  let text: string;
  if (typeof message === "string") text = message.length > MAX_HEADER_BYTES ? message.slice(0, MAX_HEADER_BYTES) : message;
  else {
    // Only the header section is decoded: find its end in the bytes first.
    const bytes = Buffer.from(message.buffer, message.byteOffset, Math.min(message.byteLength, MAX_HEADER_BYTES));
    text = bytes.toString("latin1", 0, headerBytes(bytes));
  }
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
  const ends = [crlf < 0 ? -1 : crlf + 2, lf < 0 ? -1 : lf + 1].filter((n) => n >= 0);
  return ends.length === 0 ? text.length : Math.min(...ends);
}

/** Removes comments (nested, with quoted-pairs), keeping quoted strings intact. */
function stripComments(value: string): string {
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

/** Splits an address list at commas outside quoted strings, angle brackets and domain literals. */
function splitMailboxes(value: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  let angle = false;
  let literal = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (quoted) {
      cur += c;
      if (c === "\\") cur += value[++i] ?? "";
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === "<") angle = true;
    else if (c === ">") angle = false;
    else if (c === "[") literal = true;
    else if (c === "]") literal = false;
    else if ((c === "," || c === ";") && !angle && !literal) {
      out.push(cur);
      cur = "";
      continue;
    } else if (c === ":" && !angle && !literal && !cur.includes("@")) {
      // group display name ("undisclosed:") ends here
      cur = "";
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out.map((m) => m.trim()).filter((m) => m !== "");
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
  if (/^\[[^[\]\\]*\]$/.test(domain)) return domain; // a domain literal: kept, it has no DMARC record
  domain = domain.replace(/\.+$/, "");
  if (domain === "" || BAD_DOMAIN_CHARS.test(domain)) return undefined;
  const ascii = /^[\x21-\x7e]+$/.test(domain) ? domain : domainToASCII(domain);
  if (ascii === "" || ascii.split(".").some((l) => l === "" || l.length > 63) || ascii.length > 253) return undefined;
  return ascii;
}

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
