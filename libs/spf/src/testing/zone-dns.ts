/**
 * An in-memory SpfDns built from the openspf test suite's `zonedata`
 * (see ../shared/conformance/README.md), usable by tests, tools and
 * benchmarks. It records every query, so tests can check order and counts.
 *
 * Rules, as in pyspf's test runner:
 * - owner and query names match case-insensitively, with empty labels and a
 *   trailing dot dropped; a query label over 63 characters is SERVFAIL;
 * - `{SPF: ...}` items also answer TXT queries, unless the name has any TXT
 *   item (even `TXT: NONE`); the copies come after the name's own items;
 * - a bare `TIMEOUT` item times out every query type with no record before it
 *   in the list; records of the type before it are answered, later ones not;
 * - a name with a CNAME and no records of the asked type follows the CNAME
 *   (chains of up to 8, a loop is SERVFAIL);
 * - a missing name is NXDOMAIN, a name without records of the type NODATA.
 */
import { type DnsOutcome, type MxRecord, type SpfDns, type SpfQueryType } from "../dns";

/** One zonedata item as YAML gives it: `{TXT: "..."}`, `{MX: [10, "mx.example.com"]}`, or `"TIMEOUT"`. */
export type ZoneEntry = "TIMEOUT" | Readonly<Record<string, unknown>>;
export type ZoneData = Readonly<Record<string, readonly ZoneEntry[]>>;

export interface ZoneQuery {
  readonly type: SpfQueryType;
  readonly name: string;
}

export interface ZoneDns extends SpfDns {
  /** Every query made, in order. */
  readonly queries: ZoneQuery[];
}

type ItemType = SpfQueryType | "CNAME";
type Item = { readonly type: "TIMEOUT" } | { readonly type: ItemType; readonly value: unknown };

const MAX_CNAME_CHAIN = 8;

/** True when `name` is already normalized: no empty label, no uppercase, ASCII (the common case, checked without allocating). */
function isNormal(name: string): boolean {
  if (name.length === 0 || name.charCodeAt(0) === 0x2e || name.charCodeAt(name.length - 1) === 0x2e) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c > 0x7e) return false;
    if (c === 0x2e && name.charCodeAt(i + 1) === 0x2e) return false;
  }
  return true;
}

/** True when some label is over 63 characters. */
function hasLongLabel(name: string): boolean {
  let start = 0;
  for (;;) {
    const dot = name.indexOf(".", start);
    const end = dot === -1 ? name.length : dot;
    if (end - start > 63) return true;
    if (dot === -1) return false;
    start = dot + 1;
  }
}

function normalize(name: string): string {
  if (isNormal(name)) return name;
  return name
    .split(".")
    .filter((label) => label !== "")
    .join(".")
    .toLowerCase();
}

function textValue(value: unknown, owner: string): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  throw new Error(`zone ${owner}: TXT/SPF value must be a string or a list of strings`);
}

function stringValue(value: unknown, owner: string, type: string): string {
  if (typeof value !== "string") throw new Error(`zone ${owner}: ${type} value must be a string`);
  return value;
}

function mxValue(value: unknown, owner: string): MxRecord {
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== "number" || typeof value[1] !== "string") {
    throw new Error(`zone ${owner}: MX value must be [preference, exchange]`);
  }
  return { preference: value[0], exchange: value[1] };
}

function compile(owner: string, entries: readonly ZoneEntry[]): Item[] {
  const items: Item[] = [];
  const copies: Item[] = [];
  let hasTxt = false;
  for (const entry of entries) {
    if (entry === "TIMEOUT") {
      items.push({ type: "TIMEOUT" });
      continue;
    }
    const pairs = Object.entries(entry);
    const [type, value] = pairs[0] ?? [];
    if (pairs.length !== 1 || type === undefined) throw new Error(`zone ${owner}: each item must have exactly one type`);
    switch (type) {
      case "TXT":
        hasTxt = true;
        if (value !== "NONE") items.push({ type: "TXT", value: textValue(value, owner) });
        break;
      case "SPF":
        copies.push({ type: "TXT", value: textValue(value, owner) });
        break;
      case "A":
      case "AAAA":
      case "PTR":
      case "CNAME":
        items.push({ type, value: stringValue(value, owner, type) });
        break;
      case "MX":
        items.push({ type: "MX", value: mxValue(value, owner) });
        break;
      default:
        throw new Error(`zone ${owner}: unsupported record type ${type}`);
    }
  }
  return hasTxt ? items : [...items, ...copies];
}

export function createZoneDns(zone: ZoneData): ZoneDns {
  const names = new Map<string, Item[]>();
  for (const [owner, entries] of Object.entries(zone)) names.set(normalize(owner), compile(owner, entries));
  const queries: ZoneQuery[] = [];

  function lookup(name: string, type: SpfQueryType, seen: Set<string> | undefined): DnsOutcome<unknown[]> {
    if (hasLongLabel(name)) return { kind: "servfail" };
    const key = normalize(name);
    const items = names.get(key);
    if (!items) return { kind: "nxdomain" };
    const records: unknown[] = [];
    let cname: string | undefined;
    for (const item of items) {
      if (item.type === "TIMEOUT") {
        if (records.length === 0) return { kind: "timeout" };
        break;
      }
      if (item.type === type) records.push(item.value);
      else if (item.type === "CNAME") cname = item.value as string;
    }
    if (records.length > 0) return { kind: "answer", records };
    if (cname === undefined) return { kind: "nodata" };
    const chain = seen ?? new Set<string>();
    if (chain.has(key) || chain.size >= MAX_CNAME_CHAIN) return { kind: "servfail" };
    chain.add(key);
    return lookup(cname, type, chain);
  }

  function query<T>(type: SpfQueryType, name: string): Promise<DnsOutcome<T>> {
    queries.push({ type, name });
    return Promise.resolve(lookup(name, type, undefined) as DnsOutcome<T>);
  }

  return {
    queries,
    txt: (name) => query("TXT", name),
    a: (name) => query("A", name),
    aaaa: (name) => query("AAAA", name),
    mx: (name) => query("MX", name),
    ptr: (name) => query("PTR", name),
  };
}
