import { attachBus, type Bus, type ObjectStore, openSpool } from "@postern/bus";
import { createResolver, type ResolverOptions } from "@postern/dns";
import { type DmarcDns } from "@postern/libdmarc";
import { DmarcService } from "@postern/proto";
import { Admission, clientChannelOptions, clientCredentials, GrpcClientPool, type ServiceContext, startGrpcServer } from "@postern/service-kit";
import { createCheck } from "./checker";
import { type DmarcConfig, type DmarcSection } from "./config";
import { startConsumer } from "./consumer";
import { createDmarcMetrics, logEvents } from "./diagnostics";
import { dkimDnsFromDmarcDns, dmarcDnsFromResolver } from "./dns-adapter";
import { AggregateRecorder, ensureAggregateStream, ReportLimiter, sendForensic } from "./reports";
import { dmarcServer } from "./server";
import { DmarcCallbackClient } from "./verdict-codec";

export interface DmarcDeps {
  /** Replaces the resolver built from the `dns` section (tests and benchmarks: createDmarcZone). */
  dns?: DmarcDns;
  /** DKIM clock (tests with fixed vectors) */
  now?: () => number;
}

export function forensicSender(cfg: DmarcSection): string {
  return cfg.dmarc_forensic_sender ?? `postmaster@${cfg.authserv_id}`;
}

export function reportEmail(cfg: DmarcSection): string {
  return cfg.reports.email ?? `dmarc-reports@${cfg.authserv_id}`;
}

export function dnsFromConfig(cfg: DmarcSection, onQuery?: ResolverOptions["onQuery"]): DmarcDns {
  return dmarcDnsFromResolver(
    createResolver({
      ...(cfg.dns.servers === undefined ? {} : { servers: cfg.dns.servers }),
      timeoutMs: cfg.dns.timeout_ms,
      attempts: cfg.dns.attempts,
      ...(onQuery === undefined ? {} : { onQuery }),
    }),
  );
}

/**
 * Wires the dmarc service. Closers run in reverse order at shutdown: the
 * subscription is drained, in-flight checks finish, the gRPC server and the
 * callback clients close, and NATS is drained last (attachBus).
 */
export async function startDmarc(ctx: ServiceContext<DmarcConfig>, deps: DmarcDeps = {}): Promise<void> {
  const { logger, shutdown } = ctx;
  const cfg = ctx.config.dmarc;
  const metrics = createDmarcMetrics(ctx.metrics);
  const dns = deps.dns ?? dnsFromConfig(cfg, metrics.onDnsQuery);
  const bus: Bus = await attachBus(ctx, ctx.config.nats);
  if (cfg.reports.aggregate) await ensureAggregateStream(bus, cfg.reports.max_age_seconds);
  // Closers run in reverse order: the rows left are published after the last check ended and before NATS drains.
  const aggregates = cfg.reports.aggregate
    ? new AggregateRecorder(bus, {
        flushMs: cfg.reports.flush_ms,
        maxRows: cfg.reports.max_rows,
        logger,
        onFlushed: (outcome, evaluations) => metrics.reports.inc({ kind: "aggregate_row", outcome }, evaluations),
      })
    : undefined;
  if (aggregates !== undefined) shutdown.add("aggregate rows", () => aggregates.close());
  let spool: Promise<ObjectStore> | undefined;
  const check = createCheck({
    dns,
    dkimDns: dkimDnsFromDmarcDns(dns),
    spool: () => (spool ??= openSpool(bus)),
    cfg,
    metrics,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
  const admission = new Admission(cfg.max_in_flight);
  // verdict batches are encoded by encodeDmarcVerdicts (verdict-codec.ts)
  const callbacks = new GrpcClientPool(DmarcCallbackClient, clientCredentials(cfg.callback.tls), clientChannelOptions(cfg.callback.tls, cfg.callback));
  const server = await startGrpcServer({
    listen: cfg.grpc.listen,
    tls: cfg.grpc.tls,
    auth: cfg.grpc,
    logger,
    services: [[DmarcService, dmarcServer({ check, admission, authservId: cfg.authserv_id, logger })]],
  });
  shutdown.add("grpc", async () => {
    await server.close();
    callbacks.close();
  });
  const budgetMs = cfg.check_timeout_ms + cfg.callback.deadline_ms;
  shutdown.add(
    "checks in flight",
    async () => {
      admission.close();
      if (!(await admission.idle(budgetMs))) logger.warn({ event: logEvents.drainTimeout, in_flight: admission.size }, "checks still running at shutdown");
    },
    { timeoutMs: budgetMs + 1_000 },
  );

  const forensicLimiter = cfg.forensic_max_per_domain_hour > 0 ? new ReportLimiter(cfg.forensic_max_per_domain_hour) : undefined;
  const consumer = startConsumer({
    bus,
    check,
    admission,
    callbacks,
    replyBudgetMs: budgetMs,
    replyMode: cfg.callback.mode,
    authservId: cfg.authserv_id,
    metrics,
    logger,
    afterVerdict: async (request, { verdict, body }) => {
      const sourceIp = request.client?.ip ?? "";
      if (aggregates !== undefined && sourceIp !== "") aggregates.add(verdict, { sourceIp });
      if (cfg.dmarc_enable_forensic && verdict.result === "fail") {
        try {
          const sent = await sendForensic(
            { bus, dns, mode: cfg.mode, sender: forensicSender(cfg), reportingMta: cfg.authserv_id, ...(forensicLimiter === undefined ? {} : { limiter: forensicLimiter }) },
            verdict,
            { body, sourceIp, mailFrom: request.sender, deliveryResult: verdict.status === "reject" ? "reject" : verdict.status === "quarantine" ? "spam" : "delivered" },
          );
          if (sent !== null) {
            metrics.reports.inc({ kind: "forensic", outcome: "queued" });
            logger.info({ event: logEvents.forensicQueued, message_id: sent.messageId, domain: verdict.authorDomain, recipients: sent.recipients }, "DMARC failure report queued");
          }
        } catch (err) {
          metrics.reports.inc({ kind: "forensic", outcome: "error" });
          logger.warn({ event: logEvents.forensicFailed, domain: verdict.authorDomain, err }, "DMARC failure report not queued");
        }
      }
    },
  });
  shutdown.add("dmarc.check consumer", () => consumer.stop());
  await bus.nc.flush();
  logger.info({ grpc: server.address, mode: cfg.mode }, "dmarc ready");
}
