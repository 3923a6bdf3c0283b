/**
 * Strict IP address text <-> bytes, without node's lenient forms: no zone ids,
 * no leading zeros in dotted quads. IPv6 text is printed the way libuv (and so
 * node's socket.remoteAddress) prints it, so that an address from a PROXY
 * header compares equal to the same address seen on a socket.
 */

const DEC_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;

/** "a.b.c.d", each 0..255 without leading zeros, into out[off..off+4). */
export function parseIPv4(text: string, out: Uint8Array = new Uint8Array(4), off = 0): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!DEC_OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[off + i] = n;
  }
  return out;
}

function parseGroups(part: string, allowV4Tail: boolean): number[] | undefined {
  if (part === "") return [];
  const groups = part.split(":");
  const words: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (allowV4Tail && i === groups.length - 1 && g.includes(".")) {
      const v4 = parseIPv4(g);
      if (!v4) return undefined;
      words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (HEX_GROUP.test(g)) {
      words.push(parseInt(g, 16));
    } else {
      return undefined;
    }
  }
  return words;
}

/** RFC 4291 section 2.2 text (one "::" at most, optional dotted-quad tail) into 16 bytes. */
export function parseIPv6(text: string, out: Uint8Array = new Uint8Array(16), off = 0): Uint8Array | undefined {
  if (!IPV6_CHARS.test(text)) return undefined;
  const gap = text.indexOf("::");
  let head: number[] | undefined;
  let tail: number[] | undefined = [];
  if (gap < 0) {
    head = parseGroups(text, true);
    if (!head || head.length !== 8) return undefined;
  } else {
    if (text.lastIndexOf("::") !== gap) return undefined;
    head = parseGroups(text.slice(0, gap), false);
    tail = parseGroups(text.slice(gap + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
  }
  out.fill(0, off, off + 16);
  head.forEach((w, i) => {
    out[off + 2 * i] = w >> 8;
    out[off + 2 * i + 1] = w & 0xff;
  });
  const start = 8 - tail.length;
  tail.forEach((w, i) => {
    out[off + 2 * (start + i)] = w >> 8;
    out[off + 2 * (start + i) + 1] = w & 0xff;
  });
  return out;
}

export function formatIPv4(buf: Uint8Array, off = 0): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** 16 bytes as text, compressed like BSD/libuv inet_ntop. */
export function formatIPv6(buf: Uint8Array, off = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ":";
      continue;
    }
    if (i !== 0) s += ":";
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      return s + formatIPv4(buf, off + 12);
    }
    s += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ":";
  return s;
}
