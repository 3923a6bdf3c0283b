/**
 * Composable resolving steps, in the manner of undici's interceptors: each takes a Handler
 * (or, for withRetry, an Exchange) and returns a Handler. createResolver stacks them as
 * withMetrics(withNameCheck(withCache(withDedup(withRetry(servers, exchange))))).
 */
import { TtlCache, type CacheEntry, type CacheResult, type CacheStore } from "./cache";
import { DnsErrorCode } from "./errors";
import { canonicalName, checkName } from "./names";
import type { QueryEvent } from "./diagnostics";
import type { DnsRecord, Exchange, ExchangeResult, Handler, Outcome, Query, Resolution, Server } from "./types";

/** The explicit cache and in-flight key of a query: canonical name and type. */
export function queryKey(query: Query): string {
  return `${canonicalName(query.name)}/${query.type}`;
}

function isFinal(outcome: Outcome<DnsRecord>): boolean {
  return outcome.kind === "answer" || outcome.kind === "nxdomain" || outcome.kind === "nodata";
}

export interface RetryOptions {
  /** Passes over the server list (resolv.conf's `attempts`). */
  readonly attempts: number;
}

/**
 * Tries the servers in order, `attempts` times over, until one gives an answer, NXDOMAIN or
 * NODATA. Otherwise returns the last failure that came from a server's response (SERVFAIL,
 * REFUSED, error) in preference to a timeout: a server's word beats silence.
 */
export function withRetry(servers: readonly Server[], exchange: Exchange, options: RetryOptions): Handler {
  return async (query) => {
    let kept: ExchangeResult | null = null;
    let keptServer: string | null = null;
    let ignored = 0;
    for (let attempt = 0; attempt < options.attempts; attempt++) {
      for (const server of servers) {
        const r = await exchange(server, query);
        ignored += r.ignored;
        if (isFinal(r.outcome)) return { outcome: r.outcome, server: server.label, transport: r.transport, cached: false, shared: false, ignored };
        if (kept === null || r.outcome.kind !== "timeout" || kept.outcome.kind === "timeout") {
          kept = r;
          keptServer = server.label;
        }
      }
    }
    if (kept === null) return { outcome: { kind: "timeout" }, server: null, transport: null, cached: false, shared: false, ignored };
    return { outcome: kept.outcome, server: keptServer, transport: kept.transport, cached: false, shared: false, ignored };
  };
}

export interface CacheOptions {
  /** Bound of the default LRU store. Default 10000. */
  readonly maxEntries?: number;
  /** Cap on positive TTLs, seconds. Default 86400. */
  readonly maxTtlS?: number;
  /** Cap on negative (NXDOMAIN/NODATA) TTLs, seconds (RFC 2308 5 suggests 1-3 hours). Default 900. */
  readonly negativeTtlCapS?: number;
  readonly store?: CacheStore<CacheEntry<Resolution>>;
  /** Clock in milliseconds. */
  readonly now?: () => number;
}

export const DEFAULT_MAX_TTL_S = 86_400;
export const DEFAULT_NEGATIVE_TTL_CAP_S = 900;

/** Seconds a resolution may be cached: answers by their TTL, negatives by RFC 2308, others 0. */
export function cacheTtl(outcome: Outcome<DnsRecord>, maxTtlS: number, negativeTtlCapS: number): number {
  switch (outcome.kind) {
    case "answer":
      return Math.min(outcome.ttl, maxTtlS);
    case "nxdomain":
    case "nodata":
      return Math.min(outcome.ttl, negativeTtlCapS);
    default:
      return 0;
  }
}

function withTtl(outcome: Outcome<DnsRecord>, ttl: number): Outcome<DnsRecord> {
  return outcome.kind === "answer" || outcome.kind === "nxdomain" || outcome.kind === "nodata" ? { ...outcome, ttl } : outcome;
}

/** Serves fresh answers and negative answers from a TtlCache; SERVFAIL, timeouts and errors are never cached. */
export function withCache(next: Handler, options: CacheOptions = {}): Handler {
  const maxTtl = options.maxTtlS ?? DEFAULT_MAX_TTL_S;
  const negCap = options.negativeTtlCapS ?? DEFAULT_NEGATIVE_TTL_CAP_S;
  const cache = new TtlCache<Resolution>({
    ttlOf: (r) => cacheTtl(r.outcome, maxTtl, negCap),
    ...(options.store !== undefined ? { store: options.store } : {}),
    ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  const served = (r: CacheResult<Resolution>): Resolution => {
    const v = r.value;
    return { outcome: withTtl(v.outcome, r.remainingS), server: v.server, transport: v.transport, cached: true, shared: false, ignored: 0 };
  };
  // A hit is answered without an async function in between: most of a check's queries are hits.
  return (query) => {
    const key = queryKey(query);
    const hit = cache.peek(key);
    if (hit !== undefined) return Promise.resolve(served(hit));
    return cache.load(key, () => next(query)).then((r) => (r.hit ? served(r) : r.value));
  };
}

/** Joins concurrent identical queries (same queryKey) to one in-flight resolution. */
export function withDedup(next: Handler, inflight: Map<string, Promise<Resolution>> = new Map()): Handler {
  return (query) => {
    const key = queryKey(query);
    const running = inflight.get(key);
    if (running !== undefined) return running.then((r) => ({ ...r, shared: true }));
    const p = next(query).finally(() => {
      if (inflight.get(key) === p) inflight.delete(key);
    });
    inflight.set(key, p);
    return p;
  };
}

/** Rejects invalid names with an error outcome before anything is sent; strips the trailing dot. */
export function withNameCheck(next: Handler): Handler {
  return (query) => {
    const check = checkName(query.name);
    if (!check.ok) {
      const outcome = { kind: "error", code: DnsErrorCode.InvalidName, reason: check.reason } as const;
      return Promise.resolve({ outcome, server: null, transport: null, cached: false, shared: false, ignored: 0 });
    }
    // not an async function: returning next()'s promise from one costs two more microtasks
    try {
      return next(check.name === query.name ? query : { ...query, name: check.name });
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what was thrown, as from the async function this was
      return Promise.reject(err);
    }
  };
}

/** Reports every resolution to `onQuery` (see diagnostics.ts); `now` is in milliseconds. */
export function withMetrics(next: Handler, onQuery: (event: QueryEvent) => void, now: () => number = () => performance.now()): Handler {
  const report = (query: Query, start: number, r: Resolution): Resolution => {
    onQuery({
      name: query.name,
      type: query.type,
      outcome: r.outcome.kind,
      server: r.server,
      ms: now() - start,
      cached: r.cached,
      shared: r.shared,
      transport: r.transport,
      ignored: r.ignored,
      authenticated: "authenticated" in r.outcome ? r.outcome.authenticated : false,
    });
    return r;
  };
  return (query) => {
    const start = now();
    try {
      return next(query).then((r) => report(query, start, r));
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what was thrown, as from the async function this was
      return Promise.reject(err);
    }
  };
}
