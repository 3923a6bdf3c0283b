/**
 * MX routing (RFC 5321 5.1): the hosts to try for a recipient domain, in order.
 *
 * SECURITY: DNS answers are hostile input. Exchange names are only used as names to look
 * up (libs/dns checks them); addresses come from A/AAAA answers typed by libs/dns. The
 * host list is bounded (MAX_HOSTS) so a domain with hundreds of MX records cannot keep a
 * worker busy.
 */
import { type MxRecord, type Outcome } from "@postern/dns";

/** The DNS lookups routing needs (a subset of @postern/dns Resolver). */
export interface MxResolver {
  mx(name: string): Promise<Outcome<MxRecord>>;
  a(name: string): Promise<Outcome<string>>;
  aaaa(name: string): Promise<Outcome<string>>;
}

export interface TargetHost {
  /** The MX exchange (or the domain itself for an implicit MX). */
  name: string;
  ip: string;
  /** MX preference; -1 for an implicit MX. */
  preference: number;
}

export type HostResolution =
  | { kind: "hosts"; hosts: TargetHost[]; dnsFailures: string[] }
  /** Permanent: null MX, NXDOMAIN, no addresses at all. */
  | { kind: "fail"; errstr: string }
  /** Temporary: SERVFAIL, time-out... of the MX lookup or of every address lookup. */
  | { kind: "defer"; errstr: string; dnsFailures: string[] };

export const MAX_HOSTS = 16;

/**
 * MX records ordered by preference, equal preferences shuffled (RFC 5321 5.1 "randomize"),
 * duplicates dropped. `random` returns [0,1).
 */
export function orderMx(records: readonly MxRecord[], random: () => number = Math.random): MxRecord[] {
  const seen = new Set<string>();
  const unique = records.filter((r) => {
    const key = r.exchange.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const keyed = unique.map((r) => ({ r, k: random() }));
  keyed.sort((x, y) => x.r.preference - y.r.preference || x.k - y.k);
  return keyed.map((x) => x.r);
}

/** RFC 7505: a single MX with exchange "." (libs/dns reports "." or ""). */
export function isNullMx(records: readonly MxRecord[]): boolean {
  return records.length === 1 && (records[0]?.exchange === "." || records[0]?.exchange === "");
}

export type Family = "ipv4" | "ipv6";

function describe(name: string, type: string, o: Outcome<unknown>): string {
  return `${type} lookup of ${name}: ${o.kind}${"reason" in o && typeof o.reason === "string" ? ` (${o.reason})` : ""}`;
}

/**
 * Addresses of one host, interleaved by family starting with the first of `families`
 * (the list-ordering half of Happy Eyeballs, RFC 8305 4: a dead family costs one connect
 * time-out per host, not all of them).
 */
async function addresses(resolver: MxResolver, name: string, families: readonly Family[]): Promise<{ ips: string[]; temp: string[]; permanent: boolean }> {
  const lookups = await Promise.all(families.map((f) => (f === "ipv6" ? resolver.aaaa(name) : resolver.a(name))));
  const lists: string[][] = [];
  const temp: string[] = [];
  let permanent = true;
  lookups.forEach((o, i) => {
    if (o.kind === "answer") {
      lists.push([...o.records]);
      permanent = false;
    } else if (o.kind !== "nxdomain" && o.kind !== "nodata") {
      temp.push(describe(name, families[i] === "ipv6" ? "AAAA" : "A", o));
      permanent = false;
    }
  });
  const ips: string[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) ips.push(l[i] as string);
  return { ips, temp, permanent };
}

/** MX lookup, null MX, implicit MX (RFC 5321 5.1), then A/AAAA of every exchange. */
export async function resolveHosts(
  resolver: MxResolver,
  domain: string,
  opts: { families: readonly Family[]; random?: () => number },
): Promise<HostResolution> {
  const mx = await resolver.mx(domain);
  let exchanges: Array<{ name: string; preference: number }>;
  if (mx.kind === "answer" && mx.records.length > 0) {
    if (isNullMx(mx.records)) return { kind: "fail", errstr: `domain ${domain} does not accept mail (null MX, RFC 7505)` };
    exchanges = orderMx(mx.records, opts.random).map((r) => ({ name: r.exchange, preference: r.preference }));
  } else if (mx.kind === "nxdomain") {
    return { kind: "fail", errstr: `Unrouteable address: domain ${domain} does not exist` };
  } else if (mx.kind === "nodata" || mx.kind === "answer") {
    exchanges = [{ name: domain, preference: -1 }];
  } else {
    const why = describe(domain, "MX", mx);
    return { kind: "defer", errstr: `DNS lookup failed: ${why}`, dnsFailures: [why] };
  }
  const hosts: TargetHost[] = [];
  const dnsFailures: string[] = [];
  const resolved = await Promise.all(exchanges.slice(0, MAX_HOSTS).map((e) => addresses(resolver, e.name, opts.families)));
  resolved.forEach((r, i) => {
    const e = exchanges[i];
    if (!e) return;
    dnsFailures.push(...r.temp);
    for (const ip of r.ips) if (hosts.length < MAX_HOSTS) hosts.push({ name: e.name, ip, preference: e.preference });
  });
  if (hosts.length > 0) return { kind: "hosts", hosts, dnsFailures };
  if (dnsFailures.length > 0) return { kind: "defer", errstr: `DNS lookup failed: ${dnsFailures[0] ?? ""}`, dnsFailures };
  return { kind: "fail", errstr: `all hosts for ${domain} have no address (${exchanges.map((e) => e.name).join(", ")})` };
}
