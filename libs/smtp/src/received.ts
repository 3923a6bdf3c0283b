/**
 * The Received: trace header (RFC 5321 section 4.4, RFC 5322 section 3.6.7)
 * and the RFC 5322 date-time format.
 *
 * SECURITY: the HELO name is client input and goes into a header; anything
 * outside a conservative host-name character set becomes "?", so a client
 * cannot fold extra header lines into the message.
 */
import { isIPv6 } from "node:net";

export interface ReceivedInfo {
  /** the client's HELO/EHLO argument */
  readonly helo: string;
  readonly clientIp: string;
  /** our host name */
  readonly hostname: string;
  /** "with" protocol (RFC 3848/6531): SMTP, ESMTP, ESMTPS, ESMTPA, UTF8SMTP, ... */
  readonly protocol: string;
  readonly id: string;
  /** added as "for <address>" when the message has exactly one recipient */
  readonly recipient?: string;
  readonly date: Date;
}

const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number): string => String(n).padStart(2, "0");

/** "Thu, 27 Nov 2025 10:39:00 +0000" (always UTC). */
export function formatRfc5322Date(d: Date): string {
  return (
    `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/** TCP-info form of an address: "[192.0.2.1]" or "[IPv6:2001:db8::1]". */
export function addressLiteral(ip: string): string {
  return isIPv6(ip) ? `[IPv6:${ip}]` : `[${ip}]`;
}

function safeHelo(helo: string): string {
  const s = helo.slice(0, 255).replace(/[^A-Za-z0-9.\-_:[\]]/g, "?");
  return s.length > 0 ? s : "?";
}

const controls = /[\x00-\x1f\x7f]/g;

/** The complete header field, folded, ending with CRLF. */
export function formatReceived(r: ReceivedInfo): string {
  const rcpt = r.recipient === undefined ? "" : `\r\n\tfor <${r.recipient.replace(controls, "?")}>`;
  return (
    `Received: from ${safeHelo(r.helo)} (${addressLiteral(r.clientIp)})\r\n` +
    `\tby ${r.hostname} (Postern) with ${r.protocol} id ${r.id}${rcpt};\r\n` +
    `\t${formatRfc5322Date(r.date)}\r\n`
  );
}
