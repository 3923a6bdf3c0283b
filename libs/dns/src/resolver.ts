/** createResolver: the wrappers stacked over the network exchange, plus typed lookups. */
import { DEFAULT_MAX_CNAME_CHAIN } from "./classify";
import type { QueryEvent } from "./diagnostics";
import { DnsConfigError } from "./errors";
import { type MxRecord, type TlsaRecord, addressOf, mapOutcome, mxOf, ptrOf, tlsaOf, txtOf } from "./records";
import { DEFAULT_RESOLV_CONF, parseServer, systemServers } from "./servers";
import { wireExchange } from "./transport";
import type { DnsRecord, Exchange, Handler, Outcome, QueryType, Resolution, Server } from "./types";
import { type CacheOptions, withCache, withDedup, withMetrics, withNameCheck, withRetry } from "./wrappers";

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_ATTEMPTS = 2;

export interface ResolverOptions {
  /** "127.0.0.1:53", "[::1]:53", "192.0.2.53" ... Default: resolv.conf, else DEFAULT_SERVERS. */
  readonly servers?: readonly string[];
  /** Read when `servers` is not given. Default /etc/resolv.conf. */
  readonly resolvConf?: string;
  /** Per server and transport attempt. Default 2000. */
  readonly timeoutMs?: number;
  /** Passes over the server list. Default 2. */
  readonly attempts?: number;
  /** "udp" (default): UDP, TCP when truncated. "tcp": TCP only, e.g. for large RRsets. */
  readonly transport?: "udp" | "tcp";
  /** CNAME hops followed inside one answer. Default 8. */
  readonly maxCnameChain?: number;
  /** Cache settings, or false for none. Default: a cache with the defaults of CacheOptions. */
  readonly cache?: CacheOptions | false;
  /** Join identical concurrent queries. Default true. */
  readonly dedup?: boolean;
  /** Called once per query with its outcome and timing (metrics hook). */
  readonly onQuery?: (event: QueryEvent) => void;
  /** Replaces the network (per-server exchange), e.g. an in-memory zone in tests. */
  readonly exchange?: Exchange;
}

/** The resolver. Every method resolves to an outcome; none rejects on DNS failure. */
export interface Resolver {
  /** The servers in the order they are tried. */
  readonly servers: readonly string[];
  /** Any type; records as decoded by dns-packet, owned by the end of the CNAME chain. */
  query(name: string, type: QueryType): Promise<Outcome<DnsRecord>>;
  a(name: string): Promise<Outcome<string>>;
  aaaa(name: string): Promise<Outcome<string>>;
  mx(name: string): Promise<Outcome<MxRecord>>;
  /** One string[] per record: its character-strings, latin1-decoded (see txtOf). */
  txt(name: string): Promise<Outcome<string[]>>;
  ptr(name: string): Promise<Outcome<string>>;
  tlsa(name: string): Promise<Outcome<TlsaRecord>>;
}

function positiveInt(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new DnsConfigError(option, `must be a positive integer, got ${value}`);
  return value;
}

/** Parses server texts; throws DnsConfigError for an empty list or an unparsable entry. */
export function parseServers(texts: readonly string[], option = "servers"): Server[] {
  if (texts.length === 0) throw new DnsConfigError(option, "no server given");
  return texts.map((t, i) => {
    const s = parseServer(t);
    if (s === null) throw new DnsConfigError(`${option}[${i}]`, `not an IP address with optional port: "${t}"`);
    return s;
  });
}

/** Builds a resolver. Throws DnsConfigError only for options that cannot work. */
export function createResolver(options: ResolverOptions = {}): Resolver {
  const servers = parseServers(options.servers ?? systemServers(options.resolvConf ?? DEFAULT_RESOLV_CONF));
  const timeoutMs = positiveInt("timeoutMs", options.timeoutMs, DEFAULT_TIMEOUT_MS);
  const attempts = positiveInt("attempts", options.attempts, DEFAULT_ATTEMPTS);
  const maxCnameChain = positiveInt("maxCnameChain", options.maxCnameChain, DEFAULT_MAX_CNAME_CHAIN);
  const exchange = options.exchange ?? wireExchange({ timeoutMs, transport: options.transport ?? "udp", maxCnameChain });

  let handler: Handler = withRetry(servers, exchange, { attempts });
  if (options.dedup !== false) handler = withDedup(handler);
  if (options.cache !== false) handler = withCache(handler, options.cache ?? {});
  handler = withNameCheck(handler);
  if (options.onQuery !== undefined) handler = withMetrics(handler, options.onQuery);

  // One reaction per lookup on the handler's promise (not two async functions); a handler that
  // throws rejects, as the async functions did.
  const lookup = <R>(name: string, type: QueryType, map: (r: Resolution) => R): Promise<R> => {
    try {
      return handler({ name, type }).then(map);
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what was thrown, as from the async function this was
      return Promise.reject(err);
    }
  };
  return {
    servers: servers.map((s) => s.label),
    query: (name, type) => lookup(name, type, (r) => r.outcome),
    a: (name) => lookup(name, "A", (r) => mapOutcome(r.outcome, addressOf)),
    aaaa: (name) => lookup(name, "AAAA", (r) => mapOutcome(r.outcome, addressOf)),
    mx: (name) => lookup(name, "MX", (r) => mapOutcome(r.outcome, mxOf)),
    txt: (name) => lookup(name, "TXT", (r) => mapOutcome(r.outcome, txtOf)),
    ptr: (name) => lookup(name, "PTR", (r) => mapOutcome(r.outcome, ptrOf)),
    tlsa: (name) => lookup(name, "TLSA", (r) => mapOutcome(r.outcome, tlsaOf)),
  };
}
