/**
 * Redis for AUTH credentials (auth_redis_hash: HGET key user returns a
 * password hash, which @postern/hostlist lookups do not return; list lookups
 * go through createRedisLookup). One ioredis client per redis_servers item,
 * tried in order; commands fail fast when a server is down (no offline queue,
 * one retry, 1 s command timeout) so that a failure becomes 454 quickly.
 */
import { parseRedisServer } from "@postern/hostlist";
import { Redis } from "ioredis";
import { type Logger } from "pino";
import { logEvents } from "./diagnostics";

export interface RedisPool {
  /** HGET key field on the first server that answers (null: no such field); throws when none does. */
  hget(key: string, field: string): Promise<string | null>;
  /** at least one server is connected */
  ready(): boolean;
  /** resolves once a server is ready, or after timeoutMs (never rejects) */
  waitReady(timeoutMs: number): Promise<void>;
  close(): void;
}

/** `servers`: redis_servers items, validated by the config schema. */
export function createRedisPool(servers: readonly string[], logger: Logger): RedisPool {
  const clients = servers.map((item) => {
    const parsed = parseRedisServer(item);
    if ("error" in parsed) throw new Error(`redis_servers: ${parsed.error}`);
    const server = parsed.label;
    const { tls, ...options } = parsed.options;
    const client = new Redis({
      ...options,
      ...(tls === undefined ? {} : { tls: {} }),
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 1000,
      connectTimeout: 2000,
      enableOfflineQueue: false,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
    });
    let down = false;
    client.on("error", (err: Error) => {
      if (down) return;
      down = true;
      logger.warn({ event: logEvents.redisDown, server, err }, "redis unavailable");
    });
    client.on("ready", () => {
      if (down) logger.info({ event: logEvents.redisUp, server }, "redis available again");
      down = false;
    });
    return client;
  });

  const firstAnswer = async <T>(run: (c: Redis) => Promise<T>): Promise<T> => {
    let last: unknown = new Error("no redis server configured");
    for (const client of clients) {
      try {
        return await run(client);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };

  return {
    hget: (key, field) => firstAnswer((c) => c.hget(key, field)),
    ready: () => clients.some((c) => c.status === "ready"),
    waitReady(timeoutMs) {
      if (clients.some((c) => c.status === "ready")) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done(): void {
          clearTimeout(timer);
          for (const c of clients) c.off("ready", done);
          resolve();
        }
        for (const c of clients) c.once("ready", done);
      });
    },
    close() {
      for (const c of clients) c.disconnect();
    },
  };
}
