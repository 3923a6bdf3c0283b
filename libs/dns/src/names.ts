/** Domain name checks and comparisons (RFC 1035 2.3.4 limits, RFC 4343 case rules). */
import { isIPv4, isIPv6 } from "node:net";

/** Longest name in text form without the trailing dot: 255 wire octets minus 2. */
export const MAX_NAME_OCTETS = 253;
export const MAX_LABEL_OCTETS = 63;

export type NameCheck = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly reason: string };

/**
 * Validates a query name and returns it without its trailing dot ("." stays the root).
 * Lengths count UTF-8 octets, as they go on the wire. Empty labels ("a..b", ".a") are invalid.
 */
export function checkName(input: string): NameCheck {
  if (input === "." || input === "") return { ok: true, name: "." };
  const name = input.endsWith(".") ? input.slice(0, -1) : input;
  if (asciiNameOk(name)) return { ok: true, name };
  // Non-ASCII, or a limit is broken: count octets and say which.
  const octets = Buffer.byteLength(name, "utf8");
  if (octets > MAX_NAME_OCTETS) return { ok: false, reason: `name is ${octets} octets long (max ${MAX_NAME_OCTETS})` };
  for (const label of name.split(".")) {
    if (label === "") return { ok: false, reason: `empty label in "${name}"` };
    const len = Buffer.byteLength(label, "utf8");
    if (len > MAX_LABEL_OCTETS) return { ok: false, reason: `label of ${len} octets (max ${MAX_LABEL_OCTETS})` };
  }
  return { ok: true, name };
}

/** One pass over an all-ASCII name (one octet per character): true when every limit holds. Every query goes through here. */
function asciiNameOk(name: string): boolean {
  if (name.length > MAX_NAME_OCTETS) return false;
  let label = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x80) return false;
    if (c === 0x2e) {
      if (label === 0) return false;
      label = 0;
    } else if (++label > MAX_LABEL_OCTETS) return false;
  }
  return label > 0;
}

/** Lower-cases ASCII letters only: DNS names compare case-insensitively for A-Z alone (RFC 4343). */
export function asciiLower(name: string): string {
  // Names are almost always lower case already: look before building a new string.
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return name.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  }
  return name;
}

/** Canonical form for comparisons and cache keys: ASCII lower case, no trailing dot. */
export function canonicalName(name: string): string {
  if (name === "." || name === "") return ".";
  return asciiLower(name.endsWith(".") ? name.slice(0, -1) : name);
}

export function sameName(a: string, b: string): boolean {
  return canonicalName(a) === canonicalName(b);
}

/**
 * The reverse-lookup name of an address: "1.2.0.192.in-addr.arpa" for 192.0.2.1, the nibble
 * form under ip6.arpa for IPv6 (RFC 3596 2.5). null if `ip` is not an IP address.
 */
export function reverseName(ip: string): string | null {
  if (isIPv4(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  if (!isIPv6(ip)) return null;
  const hex = expandIPv6(ip);
  return `${hex.split("").reverse().join(".")}.ip6.arpa`;
}

/** 32 hex digits of an IPv6 address (zone id dropped, embedded IPv4 converted). */
function expandIPv6(ip: string): string {
  let text = ip.split("%")[0] ?? ip;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const middle = Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...(tail === undefined ? [] : middle), ...right].map((g) => g.padStart(4, "0")).join("").toLowerCase();
}
