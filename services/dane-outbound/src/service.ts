import { attachBus, lightRequestCancel, openKv, openSpool, subjects, type ObjectStore } from "@postern/bus";
import { createResolver, systemServers } from "@postern/dns";
import { OutcomesClient } from "@postern/proto";
import { clientChannelOptions, clientCredentials, type ServiceContext } from "@postern/service-kit";
import { type Config } from "./config";
import { ensureOutboundConsumer, runConsumer, type JsMsg } from "./consumer";
import { createOutboundMetrics, createSweepMetrics, logEvents } from "./diagnostics";
import { StateConflictError } from "./errors";
import { handleMail, type Disposition, type HandlerDeps } from "./handle-mail";
import { maildirTransport } from "./maildir";
import { outcomesRecorder } from "./outcomes";
import { parseRoute, RouteKind, type Route } from "./routes";
import { Limiter } from "./limits";
import { resolveHosts, type MxResolver } from "./mx";
import { deliverToHosts, HostMemory, SessionPool, type SmtpClientOptions } from "./smtp-transport";
import { StateStore } from "./state";
import { MarkerSweeper } from "./state-sweep";
import { offHostDaneResolvers, TlsPolicy } from "./tls-policy";
import { Errno, type HostInfo, type RcptResult, type Transport } from "./types";

/** How long shutdown waits for in-flight deliveries before draining NATS anyway. */
const SHUTDOWN_GRACE_MS = 20_000;

function routeTable(routes: Record<string, string>): Map<string, Route> {
  const table = new Map<string, Route>();
  for (const [domain, spec] of Object.entries(routes)) {
    const route = parseRoute(spec);
    if ("error" in route) throw new Error(`route ${domain}: ${route.error}`); // the config schema already refused it
    table.set(domain, route);
  }
  return table;
}

/** Exim-style host pattern: "*", "*.suffix", or an exact name or IP (case-insensitive). */
export function hostMatcher(patterns: readonly string[]): (h: HostInfo) => boolean {
  const ps = patterns.map((p) => p.toLowerCase());
  return (h) => {
    const name = h.name.toLowerCase();
    return ps.some((p) => p === "*" || p === name || p === h.ip || (p.startsWith("*.") && name.endsWith(p.slice(1))));
  };
}

export interface TransportParts {
  pool: SessionPool;
  transportFor: HandlerDeps["transportFor"];
}

/** Transports by route, sharing one session pool, host memory and the per-host / per-domain limits. */
export function transportFactory(cfg: Config["dane_outbound"], resolver: MxResolver | undefined, tlsPolicy?: TlsPolicy): TransportParts {
  const pool = new SessionPool(cfg.connection_idle_ms, cfg.connection_max_messages);
  const base = {
    heloName: cfg.helo_name,
    connectTimeoutMs: cfg.connect_timeout_ms,
    commandTimeoutMs: cfg.command_timeout_ms,
    tls: cfg.tls,
    tryPrdr: hostMatcher(cfg.hosts_try_prdr),
    pool,
    hostLimit: new Limiter(cfg.max_connections_per_host),
    hostMemory: new HostMemory(cfg.host_down_seconds * 1000),
    ...(tlsPolicy ? { tlsPolicy } : {}),
  };
  const smtp: SmtpClientOptions = { ...base, lmtp: false };
  const lmtp: SmtpClientOptions = { ...base, lmtp: true };
  const domains = new Limiter(cfg.max_parallel_per_domain);
  const limited =
    (deliver: Transport): Transport =>
    async (job) => {
      const release = await domains.acquire(job.domain ?? "");
      try {
        return await deliver(job);
      } finally {
        release();
      }
    };
  const mx: Transport = async (job) => {
    const domain = job.domain ?? "";
    const all = (r: RcptResult): RcptResult[] => job.recipients.map(() => r);
    if (!resolver) return all({ status: "deferred", errno: Errno.DnsDefer, errstr: "no resolver", dnsFail: true });
    const found = await resolveHosts(resolver, domain, { families: cfg.ip_families });
    if (found.kind === "fail") return all({ status: "failed", errno: Errno.NoRouter, errstr: found.errstr });
    if (found.kind === "defer") return all({ status: "deferred", errno: Errno.DnsDefer, errstr: found.errstr, dnsFail: true });
    return deliverToHosts(
      found.hosts.map((h) => ({ name: h.name, ip: h.ip, port: cfg.smtp_port })),
      job,
      { ...smtp, viaMx: true },
    );
  };
  const cache = new Map<string, { name: string; deliver: Transport }>();
  const transportFor: HandlerDeps["transportFor"] = (route) => {
    let t = cache.get(route.spec);
    if (!t) {
      if (route.kind === RouteKind.Maildir) t = { name: "maildir", deliver: maildirTransport(route.dir) };
      else if (route.kind === RouteKind.Mx) t = { name: "smtp", deliver: limited(mx) };
      else {
        const host: HostInfo = { name: route.host, ip: /^[0-9.]+$|:/.test(route.host) ? route.host : "", port: route.port };
        const o = route.kind === RouteKind.Lmtp ? lmtp : smtp;
        t = { name: route.kind, deliver: limited((job) => deliverToHosts([host], job, o)) };
      }
      cache.set(route.spec, t);
    }
    return t;
  };
  return { pool, transportFor };
}

/** Applies the handler's decision to the JetStream message; state is removed only after a confirmed ack. */
async function dispose(m: JsMsg, d: Disposition, store: StateStore, log: ServiceContext<Config>["logger"]): Promise<void> {
  if (d.kind === "nak") m.nak(d.delayMs);
  else if (d.kind === "term") m.term();
  else if (d.kind === "ack") {
    try {
      // Purge first: a purged key means "completed" (state.ts), so a copy that comes back
      // because this ack got lost is acked without delivery. The ack needs no confirmation.
      await store.remove(d.messageId);
      m.ack();
    } catch (err) {
      log.error({ event: logEvents.ackFailed, message_id: d.messageId, err }, "ack or state clean-up failed");
    }
  }
}

/** dane-outbound: pulls MAIL, delivers per recipient, records outcomes, acks when every recipient is final. */
export async function startDaneOutbound(ctx: ServiceContext<Config>): Promise<void> {
  const cfg = ctx.config.dane_outbound;
  const log = ctx.logger;
  // Every KV write is a NATS request: without this each one leaves an unused Error behind.
  lightRequestCancel();
  const bus = await attachBus(ctx, ctx.config.nats);

  const outcomes = new OutcomesClient(cfg.delivery_events.address, clientCredentials(cfg.delivery_events.tls), clientChannelOptions(cfg.delivery_events.tls, cfg.delivery_events));
  ctx.shutdown.add("delivery-events client", () => outcomes.close());
  const store = new StateStore(await openKv(bus, "delivery-state"));
  // Completion markers left by store.remove(): removed once no copy of the message can come back.
  const sweeper = new MarkerSweeper(bus, {
    retentionMs: cfg.state_marker_retention_ms,
    intervalMs: cfg.state_marker_sweep_interval_ms,
    logger: log,
    metrics: createSweepMetrics(ctx.metrics),
  });
  sweeper.start();
  ctx.shutdown.add("delivery-state marker sweep", () => sweeper.stop());
  const usesMx = [...Object.values(cfg.routes), cfg.quarantine_route].some((r) => r === "mx");
  // dns.servers, else /etc/resolv.conf (createResolver's default)
  const dnsServers = cfg.dns.servers.length > 0 ? cfg.dns.servers : undefined;
  const resolver = usesMx
    ? createResolver({
        servers: dnsServers,
        timeoutMs: cfg.dns.timeout_ms,
        attempts: cfg.dns.attempts,
      })
    : undefined;
  // DANE lookups need the AD bit of a validating resolver (dnssec_resolvers, else dns.servers).
  const daneResolver =
    cfg.dnssec_resolvers.length > 0
      ? createResolver({ servers: cfg.dnssec_resolvers, timeoutMs: cfg.dns.timeout_ms, attempts: cfg.dns.attempts })
      : (resolver ?? createResolver({ servers: dnsServers, timeoutMs: cfg.dns.timeout_ms, attempts: cfg.dns.attempts }));
  const daneServers = cfg.dnssec_resolvers.length > 0 ? cfg.dnssec_resolvers : (dnsServers ?? systemServers());
  const offHost = offHostDaneResolvers(cfg, usesMx || cfg.dnssec_resolvers.length > 0, daneServers);
  if (offHost.length > 0) {
    log.warn(
      { event: logEvents.daneResolverOffHost, servers: offHost },
      "DANE trusts the AD bit of resolvers not on this host; run a validating resolver on loopback (dnssec_resolvers) or the TLSA answers can be forged on the way",
    );
  }
  const tlsPolicy = new TlsPolicy(daneResolver, { ...cfg, daneForManualRoutes: cfg.dnssec_resolvers.length > 0 });
  const transports = transportFactory(cfg, resolver, tlsPolicy);
  ctx.shutdown.add("idle SMTP sessions", () => transports.pool.closeAll());
  let spool: Promise<ObjectStore> | undefined;
  const deps: HandlerDeps = {
    store,
    spool: () => {
      spool ??= openSpool(bus).catch((err: unknown) => {
        spool = undefined;
        throw err;
      });
      return spool;
    },
    record: outcomesRecorder(outcomes, cfg.delivery_events.deadline_ms),
    routes: routeTable(cfg.routes),
    ...(cfg.quarantine_route === undefined ? {} : { quarantineRoute: routeTable({ quarantine: cfg.quarantine_route }).get("quarantine") }),
    transportFor: transports.transportFor,
    publishMail: async (data, msgId) => {
      await bus.js.publish(subjects.mailQueued, data, { msgID: msgId });
    },
    bounce: { enabled: cfg.bounces, dsnInfo: cfg.dsn_info, reportingMta: cfg.helo_name, returnSizeLimit: cfg.bounce_return_size_limit },
    retry: cfg.retry,
    reportRetryMs: cfg.report_retry_seconds * 1000,
    leaseMs: cfg.ack_wait_seconds * 1000,
    logger: log,
    metrics: createOutboundMetrics(ctx.metrics),
  };

  const keepAliveMs = Math.max(1000, (cfg.ack_wait_seconds * 1000) / 3);
  // One timer for every message in hand (not an interval per message): each gets working()
  // at least every keepAliveMs, so a slow delivery is not redelivered meanwhile.
  const inHand = new Set<JsMsg>();
  const keepAlive = setInterval(() => {
    for (const m of inHand) m.working();
  }, keepAliveMs);
  keepAlive.unref();
  const handle = async (m: JsMsg): Promise<void> => {
    let last = Date.now();
    const working = (): void => {
      if (Date.now() - last < 1000) return;
      last = Date.now();
      m.working();
    };
    inHand.add(m);
    try {
      let d: Disposition;
      try {
        d = await handleMail(deps, m.data, working, { firstDelivery: m.info.deliveryCount === 1 });
      } catch (err) {
        // A first delivery that meets existing state (a record re-published by postern queue): read it after all.
        if (!(err instanceof StateConflictError) || m.info.deliveryCount !== 1) throw err;
        d = await handleMail(deps, m.data, working);
      }
      await dispose(m, d, store, log);
    } catch (err) {
      if (err instanceof StateConflictError) {
        log.warn({ event: logEvents.stateConflict, message_id: err.messageId }, "another worker owns this message");
        return;
      }
      log.error({ event: logEvents.handlerError, seq: m.seq, err }, "delivery failed unexpectedly; will retry");
      m.nak(deps.reportRetryMs);
    } finally {
      inHand.delete(m);
    }
  };

  const consumer = await ensureOutboundConsumer(bus, { ackWaitSeconds: cfg.ack_wait_seconds, maxAckPending: cfg.max_ack_pending });
  const runner = runConsumer(consumer, {
    concurrency: cfg.concurrency,
    handle,
    onError: (err) => log.error({ event: logEvents.consumerError, err }, "consumer error"),
  });
  ctx.health.addCheck("consumer", () => runner.ready());
  ctx.shutdown.add(
    "outbound consumer",
    async () => {
      await runner.stop(SHUTDOWN_GRACE_MS);
      clearInterval(keepAlive);
      log.info({ event: logEvents.consumerStopped, in_flight: runner.inFlight() }, "consumer stopped");
    },
    { timeoutMs: SHUTDOWN_GRACE_MS * 2 + 1000 },
  );
  log.info({ event: logEvents.consumerReady, stream: "MAIL", consumer: "outbound", concurrency: cfg.concurrency }, "consuming MAIL");
}
