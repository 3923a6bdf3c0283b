import { attachBus, openSpool } from "@postern/bus";
import { EdgeCallbackService } from "@postern/proto";
import { type ServiceContext, startGrpcServer } from "@postern/service-kit";
import { createAcceptor } from "./accept";
import { edgeCallbackServer, StapleStore } from "./callback";
import { type EdgeConfig } from "./config";
import { createEdgeMetrics, logEvents } from "./diagnostics";
import { hostList } from "./hosts";
import { startSmtpListeners } from "./listener";
import { recipientPolicy } from "./policy";
import { createRedisPool } from "./redis";
import { TxnRegistry } from "./txn";

/** how long start-up waits for Redis before serving anyway (lookups then answer 451 until it is up) */
const REDIS_START_WAIT_MS = 2_000;

/**
 * Wires the edge: NATS (topology, spool), Redis, the EdgeCallback gRPC server
 * and the SMTP listeners. Closers run in reverse order at shutdown: SMTP
 * sessions finish first, NATS is drained last.
 */
export async function startEdge(ctx: ServiceContext<EdgeConfig>): Promise<void> {
  const { config, logger, health, shutdown } = ctx;
  const cfg = config.edge;
  const metrics = createEdgeMetrics(ctx.metrics);

  const bus = await attachBus(ctx, config.nats);
  const spool = await openSpool(bus);

  let isLocalDomain: ((domain: string) => Promise<boolean>) | undefined;
  if (cfg.redis_servers !== undefined) {
    const redis = createRedisPool(cfg.redis_servers, logger);
    shutdown.add("redis", () => redis.close());
    health.addCheck("redis", () => redis.ready());
    await redis.waitReady(REDIS_START_WAIT_MS);
    const key = cfg.local_domains_redis_set;
    if (key !== undefined) isLocalDomain = (domain) => redis.sismember(key, domain);
  }

  const txns = new TxnRegistry((kind, txnId) => {
    metrics.verdictsDropped.inc({ kind });
    logger.debug({ event: logEvents.verdictDropped, kind, txn_id: txnId }, "verdict dropped");
  });
  const staples = new StapleStore();
  const grpcServer = await startGrpcServer({
    listen: cfg.grpc.listen,
    tls: cfg.grpc.tls,
    logger,
    services: [[EdgeCallbackService, edgeCallbackServer(txns, staples)]],
  });
  shutdown.add("grpc", async () => {
    await grpcServer.close();
    txns.close();
  });

  const policy = recipientPolicy({
    localDomains: cfg.local_domains,
    relayDomains: cfg.relay_to_domains,
    relayFromHosts: hostList(cfg.relay_from_hosts),
    ...(isLocalDomain === undefined ? {} : { isLocalDomain }),
  });
  const accept = createAcceptor({ bus, spool, config: cfg, logger, metrics });
  const listeners = await startSmtpListeners(cfg.smtp_listen, { config: cfg, logger, metrics, policy, accept });
  shutdown.add("smtp", () => listeners.close(cfg.smtp_shutdown_grace_ms), { timeoutMs: cfg.smtp_shutdown_grace_ms + 5_000 });
  health.addCheck("smtp", () => listeners.listening());
}
