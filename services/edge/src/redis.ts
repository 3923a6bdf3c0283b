/**
 * Redis lookups for the edge: one ioredis client per configured server, tried
 * in order. Commands fail fast when a server is down (no offline queue, one
 * retry, 1 s command timeout) so that a lookup failure becomes 451 quickly.
 */
import { Redis } from "ioredis";
import { type Logger } from "pino";
import { logEvents } from "./diagnostics";

export interface RedisPool {
  /** SISMEMBER key member on the first server that answers; throws when none does. */
  sismember(key: string, member: string): Promise<boolean>;
  /** at least one server is connected */
  ready(): boolean;
  /** resolves once a server is ready, or after timeoutMs (never rejects) */
  waitReady(timeoutMs: number): Promise<void>;
  close(): void;
}

function redacted(url: string): string {
  return url.replace(/^(rediss?:\/\/)[^@/]*@/i, "$1***@");
}

export function createRedisPool(urls: readonly string[], logger: Logger): RedisPool {
  const clients = urls.map((url) => {
    const server = redacted(url);
    const client = new Redis(url, {
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

  return {
    async sismember(key, member) {
      let last: unknown = new Error("no redis server configured");
      for (const client of clients) {
        try {
          return (await client.sismember(key, member)) === 1;
        } catch (err) {
          last = err;
        }
      }
      throw last;
    },
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
