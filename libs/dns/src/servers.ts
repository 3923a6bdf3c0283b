/** Name server addresses: parsing "127.0.0.1:53" / "[::1]:53" and reading /etc/resolv.conf. */
import { readFileSync } from "node:fs";
import { SocketAddress, isIP } from "node:net";
import type { Server } from "./types";

/** Used when neither the configuration nor resolv.conf names a server. */
export const DEFAULT_SERVERS: readonly string[] = ["127.0.0.1:53", "[::1]:53"];
export const DEFAULT_RESOLV_CONF = "/etc/resolv.conf";

/**
 * Parses "ip", "ip:port", "[ipv6]" or "[ipv6]:port" (port defaults to 53). A bare IPv6
 * address has no port. Host names are not accepted: a resolver cannot resolve its own server.
 * Returns null when the text is not such an address.
 */
export function parseServer(text: string): Server | null {
  const t = text.trim();
  let host: string;
  let portText = "53";
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) {
    host = bracket[1] ?? "";
    portText = bracket[2] ?? "53";
    if (isIP(host) !== 6) return null;
  } else if (isIP(t) !== 0) {
    host = t;
  } else {
    const m = /^([\d.]+):(\d+)$/.exec(t);
    if (!m || isIP(m[1] ?? "") !== 4) return null;
    host = m[1] ?? "";
    portText = m[2] ?? "53";
  }
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return null;
  const family = isIP(host) === 6 ? 6 : 4;
  const canonical = canonicalAddress(host, family);
  return { host: canonical, port, family, label: family === 6 ? `[${canonical}]:${port}` : `${canonical}:${port}` };
}

/** The address as the OS reports it back (compressed IPv6), so source checks compare equal. */
export function canonicalAddress(host: string, family: 4 | 6): string {
  try {
    return new SocketAddress({ address: host, family: family === 6 ? "ipv6" : "ipv4" }).address;
  } catch {
    return host;
  }
}

/** The `nameserver` entries of a resolv.conf text, in order (comments with # or ; ignored). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (m?.[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/** Servers from resolv.conf at `path`; DEFAULT_SERVERS if it is unreadable or names none. */
export function systemServers(path: string = DEFAULT_RESOLV_CONF): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [...DEFAULT_SERVERS];
  }
  const found = parseResolvConf(text);
  return found.length > 0 ? found : [...DEFAULT_SERVERS];
}

/**
 * The servers of `servers` (as parseServer reads them) that are not on this host. Their AD bit
 * crosses a network where nothing protects it: RFC 6698 A.3 and RFC 7672 rely on the path from a
 * validating resolver to the application being secure, which a loopback resolver gives (Postfix
 * says the same of smtp_dns_support_level=dnssec). Unparseable entries count as off-host.
 */
export function offHostServers(servers: readonly string[]): string[] {
  return servers.filter((text) => {
    const server = parseServer(text);
    if (server === null) return true;
    if (server.family === 6) return server.host !== "::1" && !/^::ffff:127\./i.test(server.host);
    return !server.host.startsWith("127.");
  });
}
