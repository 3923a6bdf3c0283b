/**
 * Addresses and CIDR blocks. Every address is brought to one canonical text form before it is
 * compared or sent to a lookup: IPv6 as RFC 5952 (lower case, longest zero run as `::`),
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack listener reports) as the IPv4
 * address it carries, zone indexes (`%eth0`) dropped.
 */
import { BlockList, isIP, isIPv4 } from "node:net";

export interface Cidr {
  readonly family: 4 | 6;
  /** canonical address text */
  readonly address: string;
  readonly prefix: number;
}

/** 128 bits of an IPv4-mapped prefix are IPv4 bits from this many on. */
const MAPPED_PREFIX = 96;

/**
 * The canonical text of an address (see the module comment), or null when `ip` is not one.
 * `canonicalIp("2001:DB8:0:0::1")` is "2001:db8::1"; `canonicalIp("::ffff:c000:201")` is
 * "192.0.2.1".
 */
export function canonicalIp(ip: string): string | null {
  const bare = ip.includes("%") ? ip.slice(0, ip.indexOf("%")) : ip;
  const version = isIP(bare);
  if (version === 4) return bare;
  if (version !== 6) return null;
  // The WHATWG URL parser serialises IPv6 hosts in RFC 5952 form, embedded IPv4 as hex.
  const host = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped === null) return host;
  const hi = parseInt(mapped[1] as string, 16);
  const lo = parseInt(mapped[2] as string, 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** "192.0.2.1", "10.0.0.0/8", "2001:db8::/32", "::ffff:10.0.0.0/104" (read as 10.0.0.0/8). */
export function parseCidr(text: string): Cidr | { error: string } {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  if (addressText.includes("%")) return { error: "zone indexes are not allowed in a list" };
  const address = canonicalIp(addressText);
  if (address === null) return { error: "not an IP address or CIDR" };
  const rawVersion = isIP(addressText) as 4 | 6;
  const family: 4 | 6 = isIPv4(address) ? 4 : 6;
  let prefix = rawVersion === 4 ? 32 : 128;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > prefix) return { error: `prefix length must be 0-${prefix}` };
    prefix = Number(p);
  }
  if (rawVersion === 6 && family === 4) {
    if (prefix < MAPPED_PREFIX) return { error: `an IPv4-mapped block needs a prefix of at least ${MAPPED_PREFIX}` };
    prefix -= MAPPED_PREFIX;
  }
  return { family, address, prefix };
}

/** A matcher for one block; `ip` must already be canonical (canonicalIp). */
export function cidrMatcher(cidr: Cidr): (ip: string) => boolean {
  const type = cidr.family === 4 ? "ipv4" : "ipv6";
  const list = new BlockList();
  list.addSubnet(cidr.address, cidr.prefix, type);
  return (ip) => (isIPv4(ip) ? cidr.family === 4 : cidr.family === 6) && list.check(ip, type);
}
