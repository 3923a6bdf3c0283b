/**
 * SMTP replies (RFC 5321 section 4.2) with RFC 3463 enhanced status codes
 * (RFC 2034), and the formatter for single and multiline replies.
 *
 * SECURITY: reply text may quote client input (a parameter name, a command
 * verb). formatServerReply() replaces every byte outside printable ASCII, so a
 * client can never inject a CR/LF and forge a reply line.
 */

export interface Reply {
  /** three-digit reply code, 200..599 */
  readonly code: number;
  /** RFC 3463 class.subject.detail, e.g. "2.1.5"; absent on 220 banners, EHLO and 354 */
  readonly enhanced?: string;
  /** text lines without line terminators; at least one */
  readonly lines: readonly string[];
}

export function reply(code: number, enhanced: string | undefined, ...lines: string[]): Reply {
  return enhanced === undefined ? { code, lines } : { code, enhanced, lines };
}

/** 2xx positive completion, 3xx intermediate: the command took effect. */
export function isPositive(r: Reply): boolean {
  return r.code >= 200 && r.code < 400;
}

const unsafe = /[^\x20-\x7e]/g;

/** Keeps printable ASCII; everything else (CR, LF, NUL, 8-bit bytes) becomes "?". */
export function sanitizeText(text: string): string {
  return text.replace(unsafe, "?");
}

/** "250-first\r\n250 last\r\n"; the enhanced code, when present, starts every line. */
export function formatServerReply(r: Reply): string {
  const lines = r.lines.length > 0 ? r.lines : [""];
  const prefix = r.enhanced === undefined ? "" : `${r.enhanced} `;
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    const sep = i === lines.length - 1 ? " " : "-";
    out += `${r.code}${sep}${prefix}${sanitizeText(lines[i] ?? "")}`.trimEnd() + "\r\n";
  }
  return out;
}
