import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { z } from "zod";
import { runService, type ServiceContext } from "@postern/service-kit";
import { type Backend, freePort, LogSink, startNats, startRedis } from "@postern/testing";
import { configSchema as edgeSchema, startEdge } from "@postern/edge";
import { configSchema as outboundSchema, startDaneOutbound } from "@postern/dane-outbound";
import { configSchema as eventsSchema, startDeliveryEvents } from "@postern/delivery-events";
import { configSchema as spfSchema, startSpf } from "@postern/spf";
import { configSchema as dmarcSchema, type DmarcDeps, startDmarc } from "@postern/dmarc";
import { configSchema as ocspSchema, startOcspRefresher } from "@postern/ocsp-refresher";

export interface Stack {
  nats: Backend;
  redis: Backend;
  smtpPort: number;
  eventsAddress: string;
  maildir: string;
  logs: LogSink;
  stop(): Promise<void>;
}

/**
 * All six services in this process against a real nats-server and redis-server,
 * configured as the local stack is, with free loopback ports and a temporary Maildir.
 */
export async function startStack(
  opts: { routes?: Record<string, string>; edge?: Record<string, unknown>; logLevel?: string; dmarc?: Record<string, unknown>; dmarcDeps?: DmarcDeps } = {},
): Promise<Stack> {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const maildir = mkdtempSync(join(tmpdir(), "postern-maildir-"));
  const smtpPort = await freePort();
  const eventsAddress = `127.0.0.1:${await freePort()}`;
  const logs = new LogSink();
  const config = {
    log: { level: opts.logLevel ?? "info" },
    nats: { servers: [nats.url], jetstream: { mail: { storage: "memory" }, events: { storage: "memory" }, spool: { storage: "memory" }, kv: { storage: "memory" } } },
    edge: {
      smtp_listen: [`127.0.0.1:${smtpPort}`],
      grpc: { listen: "127.0.0.1:0" },
      hostname: "edge.e2e.test",
      local_domains: ["localhost", "redis;SISMEMBER postern:local_domains $domain"],
      redis_servers: [redis.url],
      ...opts.edge,
    },
    dane_outbound: {
      routes: { localhost: `maildir:${maildir}`, ...opts.routes },
      delivery_events: { address: eventsAddress },
      retry: { schedule_seconds: [1], max_age_seconds: 60 },
    },
    delivery_events: { grpc: { listen: eventsAddress } },
    // every listener on a free port, so stacks in parallel test files do not collide
    spf: { grpc: { listen: "127.0.0.1:0" } },
    dmarc: { grpc: { listen: "127.0.0.1:0" }, ...opts.dmarc },
  };
  const contexts: Array<ServiceContext<unknown>> = [];
  const run = async <S extends z.ZodType>(name: string, schema: S, start: (ctx: ServiceContext<z.infer<S>>) => Promise<void>): Promise<void> => {
    const ctx = await runService({ name, schema, config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: logs, start });
    contexts.push(ctx);
  };
  try {
    await run("delivery-events", eventsSchema, startDeliveryEvents);
    await run("dane-outbound", outboundSchema, startDaneOutbound);
    await run("spf", spfSchema, startSpf);
    await run("dmarc", dmarcSchema, (ctx) => startDmarc(ctx, opts.dmarcDeps));
    await run("ocsp-refresher", ocspSchema, startOcspRefresher);
    await run("edge", edgeSchema, startEdge);
  } catch (err) {
    await stopAll();
    throw err;
  }

  async function stopAll(): Promise<void> {
    for (const ctx of contexts.reverse()) await ctx.shutdown.trigger("test finished");
    await Promise.all([nats.stop(), redis.stop()]);
    rmSync(maildir, { recursive: true, force: true });
  }

  return { nats, redis, smtpPort, eventsAddress, maildir, logs, stop: stopAll };
}
