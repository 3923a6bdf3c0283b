/**
 * Compiles a list once (items parsed, regexes compiled, CIDRs in BlockLists) and evaluates it
 * against a host address or a domain with Exim's semantics (see ListResult).
 */
import { HostlistConfigError, HostlistErrorCode, HostlistLookupError, quoteItem } from "./errors";
import { canonicalIp, cidrMatcher } from "./ip";
import { canonicalDomain, type Item, ListKind, lookupCommands, parseItem, type ParseOptions } from "./items";
import { type ListInput, listItems } from "./split";
import type { ListResult, Lookup, LookupQuery } from "./types";

/** Values longer than this never match a regex or lookup item (no domain is longer). */
export const MAX_VALUE_LENGTH = 255;

export interface ListOptions {
  /** Answers `redis;...` items; required when the list has one. */
  readonly redis?: Lookup;
  /** What `@` stands for in a domain list (the edge's `hostname`); required when the list has `@`. */
  readonly primaryHostname?: string;
  /** Lookup items allowed (default true); false for lists consulted before a lookup could help. */
  readonly lookups?: boolean;
}

/** A compiled host or domain list. */
export interface CompiledList {
  readonly kind: ListKind;
  /** the parsed items, in order */
  readonly items: readonly Item[];
  /** the list has lookup items, so match() may query and may defer */
  readonly usesLookups: boolean;
  /** Evaluates the list for an IP address (host list) or a domain (domain list). Never rejects. */
  match(value: string): Promise<ListResult>;
  /** The same, synchronously, for a list without lookup items (e.g. hosts_proxy at accept time); throws TypeError otherwise. */
  matchSync(value: string): Exclude<ListResult, { result: "defer" }>;
}

interface Subject {
  /** canonical value: the address (host list) or the domain in lower case without a trailing dot */
  readonly value: string;
  /** canonical address, or null when the value is not one */
  readonly ip: string | null;
}

type Test = (s: Subject) => boolean;

interface Entry {
  readonly item: Item;
  /** null for lookup items */
  readonly test: Test | null;
}

/**
 * Parses every item of a list; throws HostlistConfigError naming the first bad item.
 * `parseList("<; 2001:db8::/32 ; !192.0.2.0/24", "host")`.
 */
export function parseList(list: ListInput, kind: ListKind, opts: ParseOptions = {}): Item[] {
  return listItems(list).map(({ text, position }) => {
    const parsed = parseItem(text, kind, opts);
    if ("error" in parsed) throw new HostlistConfigError(text, position, parsed.error);
    return parsed;
  });
}

function staticTest(item: Item, primary: string | null): Test | null {
  switch (item.kind) {
    case "any":
      return () => true;
    case "cidr": {
      const m = cidrMatcher(item.cidr);
      return (s) => s.ip !== null && m(s.ip);
    }
    case "domain":
      return (s) => s.value === item.domain;
    case "suffix":
      return (s) => s.value.endsWith(item.suffix);
    case "regex":
      return (s) => s.value.length <= MAX_VALUE_LENGTH && item.regex.test(s.value);
    case "primary_hostname":
      return (s) => s.value === primary;
    case "lookup":
      return null;
  }
}

function subjectOf(kind: ListKind, value: string): Subject {
  if (kind === ListKind.Host) {
    const ip = canonicalIp(value.trim());
    return { value: ip ?? value, ip };
  }
  return { value: canonicalDomain(value.trim()) ?? value.trim().toLowerCase(), ip: null };
}

function compile(list: ListInput, kind: ListKind, opts: ListOptions): CompiledList {
  const items = parseList(list, kind, { lookups: opts.lookups });
  const primary = opts.primaryHostname === undefined ? null : (canonicalDomain(opts.primaryHostname) ?? opts.primaryHostname.toLowerCase());
  items.forEach((item, i) => {
    if (item.kind === "lookup" && opts.redis === undefined) throw new HostlistConfigError(item.text, i + 1, "a redis lookup needs redis_servers");
    if (item.kind === "primary_hostname" && primary === null) throw new HostlistConfigError(item.text, i + 1, "@ needs the primary host name");
  });
  const entries: Entry[] = items.map((item) => ({ item, test: staticTest(item, primary) }));
  // Compiled members of SMEMBERS answers, per answer array: a cached answer is compiled once.
  const compiledMembers = new WeakMap<readonly string[], Entry[]>();

  function membersOf(item: Item, key: string, members: readonly string[]): Entry[] {
    const known = compiledMembers.get(members);
    if (known !== undefined) return known;
    const out = members.map((text): Entry => {
      const parsed = parseItem(text.trim(), kind, { member: true });
      if ("error" in parsed) {
        const reason = `member ${quoteItem(text)} of set ${quoteItem(key)}: ${parsed.error}`;
        throw new HostlistLookupError(item.text, "SMEMBERS", HostlistErrorCode.LookupBadData, reason);
      }
      return { item: parsed, test: staticTest(parsed, null) };
    });
    compiledMembers.set(members, out);
    return out;
  }

  async function lookupResult(entry: Entry, s: Subject): Promise<ListResult | null> {
    const { item } = entry;
    if (item.kind !== "lookup" || opts.redis === undefined) return null;
    if (s.value === "" || s.value.length > MAX_VALUE_LENGTH || (kind === ListKind.Host && s.ip === null)) return null;
    const q: LookupQuery = { command: item.command, args: item.args.map((a) => a.map((p) => p ?? s.value).join("")) };
    let reply;
    try {
      reply = await opts.redis.query(q);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const error = new HostlistLookupError(item.text, q.command, HostlistErrorCode.LookupFailed, reason, { cause: err });
      return { result: "defer", item: item.text, error };
    }
    const wantMembers = lookupCommands[q.command].answer === "members";
    if (wantMembers !== Array.isArray(reply)) {
      const reason = `${q.command} answered ${wantMembers ? "a yes/no" : "a list"}`;
      return { result: "defer", item: item.text, error: new HostlistLookupError(item.text, q.command, HostlistErrorCode.LookupBadData, reason) };
    }
    if (typeof reply === "boolean") return reply ? decided(item) : null;
    let members: Entry[];
    try {
      members = membersOf(item, q.args[0] ?? "", reply);
    } catch (err) {
      if (err instanceof HostlistLookupError) return { result: "defer", item: item.text, error: err };
      throw err;
    }
    const hit = members.find((m) => m.test?.(s) === true);
    return hit === undefined ? null : decided(item, hit.item.text);
  }

  const usesLookups = items.some((i) => i.kind === "lookup");
  return {
    kind,
    items,
    usesLookups,
    matchSync(value) {
      if (usesLookups) throw new TypeError("this list has lookup items: use match()");
      const s = subjectOf(kind, value);
      const hit = entries.find((e) => e.test?.(s) === true);
      return hit === undefined ? { result: "nomatch", item: null } : decided(hit.item);
    },
    async match(value) {
      const s = subjectOf(kind, value);
      for (const entry of entries) {
        if (entry.test !== null) {
          if (entry.test(s)) return decided(entry.item);
          continue;
        }
        const r = await lookupResult(entry, s);
        if (r !== null) return r;
      }
      return { result: "nomatch", item: null };
    },
  };
}

function decided(item: Item, member?: string): Exclude<ListResult, { result: "defer" }> {
  const result = item.negated ? "nomatch" : "match";
  return member === undefined ? { result, item: item.text } : { result, item: item.text, member };
}

/**
 * A host list: `*`, addresses and CIDRs (IPv4-mapped IPv6 matched as IPv4), `!` negation and
 * redis lookup items. Throws HostlistConfigError for a bad item. match() takes the client IP.
 */
export function hostList(list: ListInput, opts: ListOptions = {}): CompiledList {
  return compile(list, ListKind.Host, opts);
}

/**
 * A domain list: domains, `*.suffix` / `*suffix`, `^regex` (caseless), `@`, `*`, `!` negation
 * and redis lookup items. Throws HostlistConfigError for a bad item. match() takes a domain.
 */
export function domainList(list: ListInput, opts: ListOptions = {}): CompiledList {
  return compile(list, ListKind.Domain, opts);
}

/** Whether a list has lookup items (so the configuration needs redis_servers). Invalid items are skipped. */
export function listUsesLookups(list: ListInput, kind: ListKind): boolean {
  return listItems(list).some(({ text }) => {
    const parsed = parseItem(text, kind);
    return !("error" in parsed) && parsed.kind === "lookup";
  });
}
