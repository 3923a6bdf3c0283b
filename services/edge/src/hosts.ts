/**
 * Address lists (plain IPs and CIDRs) as a node:net BlockList. IPv4-mapped
 * IPv6 peers (::ffff:192.0.2.1, what a dual-stack listener reports) are
 * matched as the IPv4 address they carry.
 */
import { BlockList, isIP, isIPv4 } from "node:net";

export interface HostSpec {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** "192.0.2.1", "2001:db8::/32", "10.0.0.0/8"; null when malformed. */
export function parseHostSpec(spec: string): HostSpec | null {
  const slash = spec.indexOf("/");
  const address = slash < 0 ? spec : spec.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = spec.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return null;
    prefix = Number(p);
  }
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** The IPv4 address inside an IPv4-mapped IPv6 address, else the address unchanged. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m?.[1] !== undefined && isIPv4(m[1]) ? m[1] : ip;
}

export interface HostList {
  has(ip: string): boolean;
}

/** Throws on a malformed entry (the config schema has validated them already). */
export function hostList(specs: readonly string[]): HostList {
  const list = new BlockList();
  for (const s of specs) {
    const h = parseHostSpec(s);
    if (h === null) throw new Error(`not an IP address or CIDR: ${s}`);
    if (h.prefix === (h.family === "ipv4" ? 32 : 128)) list.addAddress(h.address, h.family);
    else list.addSubnet(h.address, h.prefix, h.family);
  }
  return {
    has(ip) {
      const n = normalizeIp(ip);
      const version = isIP(n);
      if (version === 0) return false;
      return list.check(n, version === 4 ? "ipv4" : "ipv6");
    },
  };
}
