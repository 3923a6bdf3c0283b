/**
 * An in-memory DmarcDns for tests, tools and benchmarks. It records every
 * query. Names match case-insensitively without a trailing dot. A name exists
 * when it or any name under it has data (so `_dmarc.a.example` makes
 * `a.example` an empty non-terminal: NODATA, not NXDOMAIN).
 */
import { type DmarcDns, type DmarcQueryType, type DnsOutcome } from "../dns";

export interface ZoneName {
  readonly txt?: readonly (string | readonly string[])[];
  readonly a?: readonly string[];
  /** every query for this name fails this way */
  readonly fail?: "servfail" | "timeout";
}
export type DmarcZone = Readonly<Record<string, ZoneName>>;

export interface ZoneDmarcDns extends DmarcDns {
  readonly queries: { type: DmarcQueryType; name: string }[];
}

const norm = (n: string): string => n.toLowerCase().replace(/\.+$/, "");

export function createDmarcZone(zone: DmarcZone): ZoneDmarcDns {
  const names = new Map<string, ZoneName>();
  for (const [owner, data] of Object.entries(zone)) names.set(norm(owner), data);
  const owners = [...names.keys()];
  const exists = (name: string): boolean => names.has(name) || owners.some((o) => o.endsWith(`.${name}`));
  const queries: { type: DmarcQueryType; name: string }[] = [];
  function answer<T>(type: DmarcQueryType, raw: string, pick: (z: ZoneName) => readonly T[] | undefined): DnsOutcome<readonly T[]> {
    const name = norm(raw);
    queries.push({ type, name });
    const entry = names.get(name);
    if (entry?.fail !== undefined) return { kind: entry.fail };
    const records = entry === undefined ? undefined : pick(entry);
    if (records !== undefined && records.length > 0) return { kind: "answer", records };
    return exists(name) ? { kind: "nodata" } : { kind: "nxdomain" };
  }
  return {
    queries,
    txt: (name) => Promise.resolve(answer("TXT", name, (z) => z.txt?.map((t) => (typeof t === "string" ? [t] : t)))),
    a: (name) => Promise.resolve(answer("A", name, (z) => z.a)),
  };
}
