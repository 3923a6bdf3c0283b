/**
 * The Redis side of lookup items: one ioredis client per redis_servers item, tried in order.
 * A server that is not connected, fails the command or exceeds the per-command timeout is
 * skipped for the next; when none answers, query() throws RedisUnavailableError and the list
 * evaluation defers. Clients never queue commands while disconnected (enableOfflineQueue off,
 * no per-request retries), so a dead server costs nothing and a lookup fails within
 * servers × commandTimeoutMs. Answers (not failures) are cached for cacheTtlMs.
 *
 * Commands go out as argument arrays (RESP bulk strings), never as a command string, so a
 * client-chosen domain such as "x\r\nFLUSHALL" is only ever a key or a member.
 */
import { type ConnectionOptions } from "node:tls";
import { Redis } from "ioredis";
import { DEFAULT_CACHE_MAX_ENTRIES, DEFAULT_CACHE_TTL_MS, TtlCache } from "./cache";
import { type LookupEvent, LookupOutcome, type ServerStateEvent } from "./diagnostics";
import { RedisUnavailableError, type ServerFailure } from "./errors";
import { lookupCommands } from "./items";
import { parseRedisServers, type RedisServer } from "./redis-servers";
import { type ListInput } from "./split";
import type { Lookup, LookupQuery, LookupReply } from "./types";

export const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
/** reconnect backoff: 200 ms per attempt, capped */
const MAX_RECONNECT_DELAY_MS = 2_000;
const DISCONNECT_TIMEOUT_MS = 200;
/** how long close() waits for a client to end */
const CLOSE_WAIT_MS = 1_000;

export interface RedisLookupOptions {
  /** redis_servers: `host[:port]/db/password` items or redis:// URLs, tried in order */
  readonly servers: ListInput;
  /** per command and server (default 1000) */
  readonly commandTimeoutMs?: number;
  /** per connection attempt (default 2000) */
  readonly connectTimeoutMs?: number;
  /** lifetime of a cached answer (default 5000; 0 disables the cache) */
  readonly cacheTtlMs?: number;
  /** default 10000 */
  readonly cacheMaxEntries?: number;
  /** monotonic milliseconds for the cache and timings (default performance.now) */
  readonly now?: () => number;
  /** TLS options for rediss:// servers (a private CA, client certificates) */
  readonly tls?: ConnectionOptions;
  readonly onLookup?: (e: LookupEvent) => void;
  readonly onServerState?: (e: ServerStateEvent) => void;
}

export interface RedisLookup extends Lookup {
  /** the servers' labels, in order ("127.0.0.1:6379/0"; no passwords) */
  readonly servers: readonly string[];
  /**
   * HGET key field returning the value itself (null: no such field), on the
   * same connections and in the same server order as query(); never cached, so
   * secrets such as password hashes stay out of the cache. Throws
   * RedisUnavailableError when no server answers.
   */
  hget(key: string, field: string): Promise<string | null>;
  /** at least one server is connected */
  ready(): boolean;
  /** resolves true once a server is connected, false after timeoutMs (never rejects) */
  waitReady(timeoutMs: number): Promise<boolean>;
  /** disconnects every client; later queries fail (defer) */
  close(): Promise<void>;
}

interface Client {
  readonly label: string;
  readonly redis: Redis;
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || (v === 0 && !allowZero)) throw new RangeError(`${name} must be a positive number of milliseconds, not ${v}`);
  return v;
}

/** Calls a hook; a faulty metrics or logging hook must not turn a lookup into a failure. */
function safely<E>(hook: ((e: E) => void) | undefined, e: E): void {
  try {
    hook?.(e);
  } catch {
    // the hook's own problem; the lookup result stands
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function nonEmpty(value: string | null): boolean {
  return value !== null && value !== "";
}

async function run(redis: Redis, q: LookupQuery): Promise<LookupReply> {
  const [a = "", b = ""] = q.args;
  switch (q.command) {
    case "SMEMBERS":
      return redis.smembers(a);
    case "SISMEMBER":
      return (await redis.sismember(a, b)) === 1;
    case "HGET":
      return nonEmpty(await redis.hget(a, b));
    case "GET":
      return nonEmpty(await redis.get(a));
  }
}

function outcomeOf(reply: LookupReply): LookupOutcome {
  const found = typeof reply === "boolean" ? reply : reply.length > 0;
  return found ? LookupOutcome.Found : LookupOutcome.Empty;
}

function connect(server: RedisServer, opts: RedisLookupOptions, commandTimeout: number, connectTimeout: number, isClosed: () => boolean): Client {
  const { tls, ...options } = server.options;
  const redis = new Redis({
    ...options,
    ...(tls === undefined ? {} : { tls: { ...opts.tls } }),
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
    connectTimeout,
    // how long disconnect() lets a socket close before destroying it (ioredis's default is 2 s)
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    retryStrategy: (times: number) => Math.min(times * 200, MAX_RECONNECT_DELAY_MS),
  });
  let state: "unknown" | "up" | "down" = "unknown";
  const down = (why: string): void => {
    if (state === "down" || isClosed()) return;
    state = "down";
    safely(opts.onServerState, { server: server.label, state: "down", reason: why });
  };
  redis.on("ready", () => {
    if (state === "up" || isClosed()) return;
    state = "up";
    safely(opts.onServerState, { server: server.label, state: "up" });
  });
  redis.on("error", (err: Error) => down(err.message));
  redis.on("close", () => down("connection closed"));
  return { label: server.label, redis };
}

/** Resolves once a disconnected client has let go of its socket. */
function ended(redis: Redis): Promise<void> {
  // A client between reconnect attempts has no socket left, and ioredis emits no "end" for it.
  if (!["connecting", "connect", "ready"].includes(redis.status)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CLOSE_WAIT_MS);
    timer.unref();
    redis.once("end", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Connects to every server at once (clients reconnect by themselves with a capped backoff).
 * Throws HostlistConfigError for a bad redis_servers item, RangeError for a bad timeout or cache size.
 */
export function createRedisLookup(opts: RedisLookupOptions): RedisLookup {
  const servers = parseRedisServers(opts.servers);
  const commandTimeout = positive("commandTimeoutMs", opts.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS);
  const connectTimeout = positive("connectTimeoutMs", opts.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  const ttlMs = positive("cacheTtlMs", opts.cacheTtlMs, DEFAULT_CACHE_TTL_MS, true);
  const now = opts.now ?? (() => performance.now());
  const cache = new TtlCache<{ reply: LookupReply; server: string }>({ ttlMs, maxEntries: opts.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES, now });
  let closed = false;
  const clients = servers.map((s) => connect(s, opts, commandTimeout, connectTimeout, () => closed));

  const report = (q: LookupQuery, e: Omit<LookupEvent, "command">): void => safely(opts.onLookup, { command: q.command, ...e });

  /** The first connected server's answer, in redis_servers order; RedisUnavailableError when none answers. */
  const firstAnswer = async <T>(command: string, ask: (redis: Redis) => Promise<T>): Promise<{ value: T; server: string; failures: number }> => {
    const failures: ServerFailure[] = [];
    for (const c of clients) {
      if (closed || c.redis.status !== "ready") {
        failures.push({ server: c.label, reason: closed ? "closed" : `not connected (${c.redis.status})` });
        continue;
      }
      try {
        return { value: await ask(c.redis), server: c.label, failures: failures.length };
      } catch (err) {
        failures.push({ server: c.label, reason: reason(err) });
      }
    }
    throw new RedisUnavailableError(command, failures);
  };

  return {
    servers: clients.map((c) => c.label),

    async query(q) {
      if (q.args.length !== lookupCommands[q.command].arity) throw new TypeError(`${q.command} takes ${lookupCommands[q.command].arity} argument(s)`);
      const key = JSON.stringify([q.command, ...q.args]);
      const t0 = now();
      const hit = cache.get(key);
      if (hit !== undefined) {
        report(q, { server: hit.server, outcome: outcomeOf(hit.reply), ms: now() - t0, cached: true, failures: 0 });
        return hit.reply;
      }
      try {
        const { value: reply, server, failures } = await firstAnswer(q.command, (redis) => run(redis, q));
        cache.set(key, { reply, server });
        report(q, { server, outcome: outcomeOf(reply), ms: now() - t0, cached: false, failures });
        return reply;
      } catch (err) {
        const failures = err instanceof RedisUnavailableError ? err.failures.length : 0;
        report(q, { server: null, outcome: LookupOutcome.Error, ms: now() - t0, cached: false, failures });
        throw err;
      }
    },

    async hget(key, field) {
      return (await firstAnswer("HGET", (redis) => redis.hget(key, field))).value;
    },

    ready: () => !closed && clients.some((c) => c.redis.status === "ready"),

    waitReady(timeoutMs) {
      if (clients.some((c) => c.redis.status === "ready")) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const finish = (ok: boolean): void => {
          clearTimeout(timer);
          for (const c of clients) c.redis.off("ready", onReady);
          resolve(ok);
        };
        const onReady = (): void => finish(true);
        const timer = setTimeout(() => finish(false), timeoutMs);
        for (const c of clients) c.redis.once("ready", onReady);
      });
    },

    async close() {
      closed = true;
      cache.clear();
      await Promise.all(
        clients.map((c) => {
          const done = ended(c.redis);
          c.redis.disconnect();
          return done;
        }),
      );
    },
  };
}
