/**
 * Which addresses webhooks may be sent to. By default every public unicast
 * address, and none of: loopback, private (RFC 1918, unique local), shared
 * (CGNAT), link-local, multicast, documentation, benchmarking, reserved and
 * unspecified ranges; IPv4 embedded in IPv6 (mapped, NAT64, 6to4) is judged
 * by its IPv4 address. The operator's allow list (webhook_allow_hosts) names
 * CIDRs, addresses or host names ("hooks.internal", "*.internal.example")
 * that may be reached anyway. Pure: parsing and comparison only, no DNS.
 */

type Bytes = number[];
interface Net {
  bytes: Bytes;
  bits: number;
}

function parseIPv4(text: string): Bytes | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

function parseIPv6(text: string): Bytes | undefined {
  let address = text.replace(/%[\w.-]+$/, ""); // zone id
  if (address.includes(".")) {
    // a.b.c.d in the last 32 bits: rewrite it as two hex groups.
    const lastColon = address.lastIndexOf(":");
    const v4 = parseIPv4(address.slice(lastColon + 1));
    if (!v4) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    address = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  if (!/^[0-9a-fA-F:]+$/.test(address)) return undefined;
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const split = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const left = split(halves[0] ?? "");
  const right = halves.length === 2 ? split(halves[1] ?? "") : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

/** 4 bytes for IPv4, 16 for IPv6, undefined for anything else. */
export function parseAddress(text: string): Bytes | undefined {
  return parseIPv4(text) ?? parseIPv6(text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text);
}

function parseNet(text: string): Net | undefined {
  const [address = "", bits, extra] = text.split("/");
  if (extra !== undefined) return undefined;
  const bytes = parseAddress(address);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  const n = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= max ? { bytes, bits: n } : undefined;
}

function contains(net: Net, bytes: Bytes): boolean {
  if (net.bytes.length !== bytes.length) return false;
  for (let bit = 0; bit < net.bits; bit += 8) {
    const take = Math.min(8, net.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((net.bytes[bit / 8] ?? 0) & mask) !== ((bytes[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

const RESERVED: ReadonlyArray<[string, string]> = [
  ["0.0.0.0/8", "this network"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "shared address space"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.0.2.0/24", "documentation"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"],
  ["::/127", "loopback or unspecified"],
  ["::/96", "IPv4-compatible (deprecated)"],
  ["100::/64", "discard-only"],
  ["2001:db8::/32", "documentation"],
  ["64:ff9b:1::/48", "local-use NAT64"],
  ["fc00::/7", "unique local"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "site-local (deprecated)"],
  ["ff00::/8", "multicast"],
];
const reservedNets = RESERVED.map(([cidr, why]) => ({ net: parseNet(cidr) as Net, why }));

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address. */
function embeddedIPv4(bytes: Bytes): Bytes | undefined {
  if (bytes.length !== 16) return undefined;
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  const isNat64 = contains(parseNet("64:ff9b::/96") as Net, bytes);
  if (isMapped || isNat64) return bytes.slice(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return undefined;
}

/** Why `address` is not a public unicast address ("loopback", "private" ...), or undefined when it is one. Unparsable: "not an IP address". */
export function reservedRange(address: string): string | undefined {
  const bytes = parseAddress(address);
  if (!bytes) return "not an IP address";
  const v4 = embeddedIPv4(bytes);
  if (v4) return reservedRange(v4.join("."));
  return reservedNets.find(({ net }) => contains(net, bytes))?.why;
}

export interface AllowList {
  nets: Net[];
  /** Lower-case host names; "*.example" entries match subdomains. */
  hosts: string[];
}

const HOST = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why a webhook_allow_hosts entry is unusable, or undefined. */
export function allowEntryProblem(entry: string): string | undefined {
  if (parseNet(entry)) return undefined;
  if (/^[\d./]+$/.test(entry) || entry.includes(":")) return "not a valid address or CIDR";
  return HOST.test(entry.toLowerCase()) ? undefined : "expected a CIDR (10.0.0.0/8), an address or a host name";
}

export function parseAllowList(entries: readonly string[]): AllowList {
  const list: AllowList = { nets: [], hosts: [] };
  for (const entry of entries) {
    const net = parseNet(entry);
    if (net) list.nets.push(net);
    else if (allowEntryProblem(entry) === undefined) list.hosts.push(entry.toLowerCase());
  }
  return list;
}

/** The URL's host is allowed by name: every address it resolves to may be used. */
export function hostAllowedByName(list: AllowList, host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  return list.hosts.some((h) => (h.startsWith("*.") ? name.endsWith(h.slice(1)) : name === h));
}

/** undefined when `address` may be contacted; otherwise why not (naming the range). */
export function deniedReason(list: AllowList, address: string): string | undefined {
  const bytes = parseAddress(address);
  if (!bytes) return `${address} is not an IP address`;
  const v4 = embeddedIPv4(bytes);
  if (list.nets.some((net) => contains(net, bytes) || (v4 !== undefined && contains(net, v4)))) return undefined;
  const range = reservedRange(address);
  return range === undefined ? undefined : `${address} is ${range} (not in webhook_allow_hosts)`;
}
