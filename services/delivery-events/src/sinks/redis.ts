/** The Redis stream sink: one pipelined XADD key MAXLEN ~ n * ... per event of a batch. */
import { Redis } from "ioredis";
import type { Event } from "@postern/proto";
import { streamFields } from "./redis-fields";
import type { SinkWriter } from "./runner";

export function createRedisWriter(opts: { url: string; stream: string; maxlen: number }): SinkWriter {
  const redis = new Redis(opts.url, { maxRetriesPerRequest: 2, lazyConnect: false });
  redis.on("error", () => undefined); // reconnects by itself; failed writes are retried by the runner
  return {
    async write(events: Event[]): Promise<void> {
      const pipeline = redis.pipeline();
      for (const event of events) pipeline.xadd(opts.stream, "MAXLEN", "~", String(opts.maxlen), "*", ...streamFields(event));
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err !== null);
      if (failed?.[0]) throw failed[0];
    },
    async close(): Promise<void> {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
