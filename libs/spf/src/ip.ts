/**
 * IP address parsing and matching, without node:net: strict IPv4 (RFC 7208's
 * qnum: no leading zeros) and RFC 4291 section 2.2 IPv6 text forms.
 */

export type IpFamily = 4 | 6;

/** The SMTP client address. An IPv4-mapped IPv6 address is family 4 (RFC 7208 section 5). */
export interface ClientIp {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
  /** Readable form: dotted quad, or RFC 5952 IPv6 (the `%{c}` macro). */
  readonly text: string;
}

/**
 * Dotted quad with RFC 7208 qnums (0-255, no leading zeros). One pass over the
 * characters: this runs for every client address and every A record an a/mx
 * term compares, so no split() and no intermediate strings.
 */
export function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      // a second digit after a leading "0" is a leading zero
      if (digits === 1 && value === 0) return undefined;
      value = value * 10 + (c - 0x30);
      if (value > 255) return undefined;
      digits++;
    } else {
      return undefined;
    }
  }
  if (part !== 3 || digits === 0) return undefined;
  out[3] = value;
  return out;
}

function hexWord(s: string): number | undefined {
  if (s.length < 1 || s.length > 4) return undefined;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = parseInt(s.charAt(i), 16);
    if (Number.isNaN(d)) return undefined;
    n = n * 16 + d;
  }
  return n;
}

/** Groups to 16-bit words; the last group of the address may be a dotted quad. */
function words(groups: readonly string[], lastMayBeV4: boolean): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] ?? "";
    if (lastMayBeV4 && i === groups.length - 1 && g.includes(".")) {
      const v4 = parseIPv4(g);
      if (!v4) return undefined;
      out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    const w = hexWord(g);
    if (w === undefined) return undefined;
    out.push(w);
  }
  return out;
}

/** RFC 4291 section 2.2 text form, including `::` and a trailing dotted quad. */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const gap = text.indexOf("::");
  let all: number[];
  if (gap === -1) {
    const w = words(text.split(":"), true);
    if (!w || w.length !== 8) return undefined;
    all = w;
  } else {
    if (text.includes("::", gap + 1)) return undefined;
    const head = text.slice(0, gap);
    const tail = text.slice(gap + 2);
    const h = head === "" ? [] : words(head.split(":"), false);
    const t = tail === "" ? [] : words(tail.split(":"), true);
    if (!h || !t || h.length + t.length > 7) return undefined;
    all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  }
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero words as `::`. */
export function formatIPv6(bytes: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(":");
  if (bestStart === -1) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0] ?? 0}.${bytes[1] ?? 0}.${bytes[2] ?? 0}.${bytes[3] ?? 0}`;
}

/** ::ffff:0:0/96 */
function isV4Mapped(v6: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (v6[i] !== 0) return false;
  return v6[10] === 0xff && v6[11] === 0xff;
}

/** The client address from its text form, or undefined if it is not an address. */
export function parseClientIp(text: string): ClientIp | undefined {
  const v4 = parseIPv4(text);
  // A qnum has no leading zeros, so an address parseIPv4 accepts is already in its readable form.
  if (v4) return { family: 4, bytes: v4, text };
  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  if (isV4Mapped(v6)) {
    const b = v6.slice(12);
    return { family: 4, bytes: b, text: formatIPv4(b) };
  }
  return { family: 6, bytes: v6, text: formatIPv6(v6) };
}

/** True when the first `prefix` bits of `a` and `b` agree. */
export function prefixMatch(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  if (a.length !== b.length) return false;
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[full] ?? 0) & mask) === ((b[full] ?? 0) & mask);
}

function nibbles(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (const b of bytes) out.push((b >> 4).toString(16), (b & 15).toString(16));
  return out;
}

/** The `%{i}` value: dotted quad, or 32 dot-separated uppercase nibbles (as the openspf suite and pyspf expect). */
export function macroIp(ip: ClientIp): string {
  return ip.family === 4 ? ip.text : nibbles(ip.bytes).join(".").toUpperCase();
}

/** The PTR query name: `d.c.b.a.in-addr.arpa` or reversed nibbles under `ip6.arpa`. */
export function reverseName(ip: ClientIp): string {
  const b = ip.bytes;
  if (ip.family === 4) return `${b[3] ?? 0}.${b[2] ?? 0}.${b[1] ?? 0}.${b[0] ?? 0}.in-addr.arpa`;
  return `${nibbles(ip.bytes).reverse().join(".")}.ip6.arpa`;
}

/** An address record's text as bytes of the given family, or undefined. */
export function parseAddress(text: string, family: IpFamily): Uint8Array | undefined {
  return family === 4 ? parseIPv4(text) : parseIPv6(text);
}
