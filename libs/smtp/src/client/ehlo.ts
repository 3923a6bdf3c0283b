import type { SmtpReply } from "./reply";

/** What a server offered in its EHLO (or LHLO) reply. */
export interface EhloCapabilities {
  /** The domain on the first line (the server's idea of its own name). */
  readonly serverName: string;
  /** The rest of the first line (greeting text). */
  readonly greeting: string;
  /** Every keyword, upper-cased, with its parameters as sent. */
  readonly keywords: ReadonlyMap<string, readonly string[]>;
  readonly pipelining: boolean; // RFC 2920
  /** RFC 1870: undefined when SIZE is not offered; 0 when offered without a fixed limit. */
  readonly size: number | undefined;
  readonly eightBitMime: boolean; // RFC 6152
  readonly smtpUtf8: boolean; // RFC 6531
  readonly enhancedStatusCodes: boolean; // RFC 2034
  readonly chunking: boolean; // RFC 3030
  readonly binaryMime: boolean; // RFC 3030
  readonly dsn: boolean; // RFC 3461
  readonly prdr: boolean; // draft-hall-prdr-00
  readonly startTls: boolean; // RFC 3207
  /** AUTH mechanisms, upper-cased (RFC 4954). */
  readonly auth: readonly string[];
}

const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/**
 * Reads the capabilities of a 250 EHLO/LHLO reply. Lines that are not
 * `keyword *(SP param)` are ignored (servers send free text, RFC 5321 4.1.1.1
 * allows nothing else, and ignoring is what deployed clients do). The caller
 * checks the reply code.
 */
export function parseEhlo(reply: SmtpReply): EhloCapabilities {
  const [first = "", ...rest] = reply.lines;
  const firstTrimmed = first.trim();
  const sp = firstTrimmed.indexOf(" ");
  const serverName = sp < 0 ? firstTrimmed : firstTrimmed.slice(0, sp);
  const greeting = sp < 0 ? "" : firstTrimmed.slice(sp + 1).trim();
  const keywords = new Map<string, string[]>();
  for (const line of rest) {
    const [keyword = "", ...params] = line.trim().split(/[ \t]+/);
    // "AUTH=LOGIN" is an old Outlook-era spelling of "AUTH LOGIN".
    const [name = "", legacy] = keyword.split("=", 2);
    if (!KEYWORD.test(name)) continue;
    const upper = name.toUpperCase();
    const values = legacy !== undefined ? [legacy, ...params] : params;
    const previous = keywords.get(upper) ?? [];
    keywords.set(upper, [...previous, ...values.filter((v) => v.length > 0)]);
  }
  const has = (k: string): boolean => keywords.has(k);
  const sizeParam = keywords.get("SIZE")?.[0];
  const size = !has("SIZE") ? undefined : sizeParam !== undefined && /^\d{1,15}$/.test(sizeParam) ? Number(sizeParam) : 0;
  return {
    serverName,
    greeting,
    keywords,
    pipelining: has("PIPELINING"),
    size,
    eightBitMime: has("8BITMIME"),
    smtpUtf8: has("SMTPUTF8"),
    enhancedStatusCodes: has("ENHANCEDSTATUSCODES"),
    chunking: has("CHUNKING"),
    binaryMime: has("BINARYMIME"),
    dsn: has("DSN"),
    prdr: has("PRDR"),
    startTls: has("STARTTLS"),
    auth: [...new Set((keywords.get("AUTH") ?? []).map((m) => m.toUpperCase()))],
  };
}

/** Capabilities of a server that answered HELO (no extensions). */
export function heloCapabilities(reply: SmtpReply): EhloCapabilities {
  return parseEhlo({ ...reply, lines: reply.lines.slice(0, 1) });
}
