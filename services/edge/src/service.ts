import { attachBus, lightRequestCancel, newEvent, openKv, openSpool, publishEvent } from "@postern/bus";
import { createRedisLookup, domainList, hostList, hostlistLogEvents, type RedisLookup } from "@postern/hostlist";
import { EdgeCallbackService } from "@postern/proto";
import { type ServiceContext, startGrpcServer, VerdictStreams } from "@postern/service-kit";
import { createAcceptor } from "./accept";
import { type AuthSources, createAuthenticator } from "./auth";
import { edgeCallbackServer, StapleStore } from "./callback";
import { type EdgeConfig } from "./config";
import { createEdgeMetrics, logEvents } from "./diagnostics";
import { busConnectionEvents } from "./events";
import { ConnectionLimiter } from "./limits";
import { startSmtpListeners } from "./listener";
import { busPublish, loadStaplesFromKv, OcspAnnouncer, OcspFile, ocspLogEvents, OcspStapler } from "./ocsp";
import { recipientPolicy } from "./policy";
import { recipientDataPolicy } from "./recipient-data";
import { createSpfGate } from "./spf-gate";
import { createDmarcGate } from "./dmarc-gate";
import { parseSpfCondition, type SpfCondition } from "./spf-policy";
import { PasswordFile } from "./passwords";
import { TlsCertificates } from "./tls";
import { TxnRegistry } from "./txn";

/** how long start-up waits for Redis before serving anyway (lookups then answer 451 until it is up) */
const REDIS_START_WAIT_MS = 2_000;

/** Validated by the config schema already. */
function condition(list: string | string[]): SpfCondition {
  const c = parseSpfCondition(list);
  if ("error" in c) throw new Error(c.error);
  return c;
}

/**
 * Where workers reach our EdgeCallback: grpc.advertise (its port 0 replaced by
 * the bound port), else POD_IP (Kubernetes downward API) with the bound port,
 * else the listen address (a wildcard listener is reached on loopback).
 */
export function advertisedAddress(advertise: string | undefined, listenAddress: string, port: number, env: NodeJS.ProcessEnv = process.env): string {
  if (advertise !== undefined) return advertise.endsWith(":0") ? `${advertise.slice(0, -1)}${port}` : advertise;
  const podIp = env.POD_IP;
  if (podIp) return `${podIp.includes(":") ? `[${podIp}]` : podIp}:${port}`;
  const host = listenAddress.slice(0, listenAddress.lastIndexOf(":"));
  if (host === "0.0.0.0") return `127.0.0.1:${port}`;
  if (host === "[::]") return `[::1]:${port}`;
  return `${host}:${port}`;
}

/** What a started edge bound: a cluster worker reports it to the primary. */
export interface EdgeAddresses {
  /** host:port the EdgeCallback gRPC server listens on */
  grpcListen: string;
  /** the reply_to address put into SPF and DMARC requests and OCSP announcements */
  grpcAdvertised: string;
}

export interface StartEdgeOptions {
  /**
   * Bind the gRPC port in this process (a node:cluster worker): otherwise the
   * cluster primary shares one port-0 socket among all workers, and a verdict
   * would reach any of them instead of the one whose transaction waits.
   */
  exclusivePorts?: boolean;
  /** told what was bound, once the edge has started */
  onStarted?: (addresses: EdgeAddresses) => void;
}

/**
 * Wires the edge: NATS (topology, spool), Redis, the EdgeCallback gRPC server
 * and the SMTP listeners. Closers run in reverse order at shutdown: SMTP
 * sessions finish first, NATS is drained last.
 */
export async function startEdge(ctx: ServiceContext<EdgeConfig>, options: StartEdgeOptions = {}): Promise<void> {
  const { config, logger, health, shutdown } = ctx;
  const cfg = config.edge;
  const metrics = createEdgeMetrics(ctx.metrics);

  // Every stored message (its MAIL record's PubAck) is a NATS request: without this each one leaves an unused Error behind.
  lightRequestCancel();
  const bus = await attachBus(ctx, config.nats);
  const spool = await openSpool(bus);

  let lookup: RedisLookup | undefined;
  if (cfg.redis_servers !== undefined) {
    const l = createRedisLookup({
      servers: cfg.redis_servers,
      cacheTtlMs: cfg.lookup_cache_ttl_ms,
      onServerState: (e) =>
        e.state === "down"
          ? logger.warn({ event: hostlistLogEvents.redisDown, server: e.server, reason: e.reason }, `redis ${e.server} unavailable`)
          : logger.info({ event: hostlistLogEvents.redisUp, server: e.server }, `redis ${e.server} available`),
    });
    lookup = l;
    shutdown.add("redis", () => l.close());
    health.addCheck("redis", () => l.ready());
    await l.waitReady(REDIS_START_WAIT_MS);
  }
  const listOpts = { primaryHostname: cfg.hostname, ...(lookup === undefined ? {} : { redis: lookup }) };
  let localDomains = cfg.local_domains;
  if (cfg.local_domains_redis_set !== undefined) {
    logger.warn({ event: logEvents.configDeprecated, option: "local_domains_redis_set" }, "local_domains_redis_set is deprecated: add \"redis;SISMEMBER <key> $domain\" to local_domains");
    localDomains = [...localDomains, `redis;SISMEMBER ${cfg.local_domains_redis_set} $domain`];
  }
  const relayFromHosts = hostList(cfg.relay_from_hosts, listOpts);

  const txns = new TxnRegistry((kind, txnId) => {
    metrics.verdictsDropped.inc({ kind });
    logger.debug({ event: logEvents.verdictDropped, kind, txn_id: txnId }, "verdict dropped");
  });
  const staples = new StapleStore();
  const verdictStreams = new VerdictStreams();
  const grpcServer = await startGrpcServer({
    listen: cfg.grpc.listen,
    tls: cfg.grpc.tls,
    auth: cfg.grpc,
    logger,
    services: [[EdgeCallbackService, edgeCallbackServer(txns, staples, verdictStreams)]],
    ...(options.exclusivePorts === true ? { exclusive: true } : {}),
  });
  // the one callback address for every verdict request and announcement: built from the port actually bound
  const replyTo = advertisedAddress(cfg.grpc.advertise, grpcServer.address, grpcServer.port);
  shutdown.add("grpc", async () => {
    const closed = grpcServer.close();
    // workers' verdict streams never end by themselves; answered, they no longer hold the shutdown
    verdictStreams.end();
    await closed;
    txns.close();
  });

  const policy = recipientPolicy({
    localDomains: domainList(localDomains, listOpts),
    relayDomains: domainList(cfg.relay_to_domains, listOpts),
    relayFromHosts,
    allowUntrustedRouting: cfg.allow_untrusted_routing,
  });
  const accept = createAcceptor({ bus, spool, config: cfg, logger, metrics });
  const spf = cfg.spf_enable
    ? {
        gate: createSpfGate({ bus, txns, replyTo, timeoutMs: cfg.spf_timeout_ms, exempt: relayFromHosts, logger }),
        policy: { reject: condition(cfg.spf_reject), defer: condition(cfg.spf_defer) },
      }
    : undefined;
  const dmarc = cfg.dmarc.enable
    ? createDmarcGate({ bus, spool, txns, replyTo, config: cfg.dmarc, logger })
    : undefined;
  let tls: TlsCertificates | undefined;
  if (cfg.tls_certificate !== undefined && cfg.tls_privatekey !== undefined) {
    // OCSP stapling (docs/adr/0005-ocsp-stapling.md): announce each chain, staple from the StapleStore / tls_ocsp_file
    const grpcAddress = replyTo;
    const file = cfg.tls_ocsp_file === undefined ? undefined : new OcspFile(cfg.tls_ocsp_file, () => certs.defaultChain(), logger);
    const stapler = new OcspStapler(staples, file);
    const announcer = new OcspAnnouncer(busPublish(bus), () => certs.chains(), grpcAddress, logger);
    const certs: TlsCertificates = new TlsCertificates({ certificate: cfg.tls_certificate, privatekey: cfg.tls_privatekey }, cfg.tls_sni, logger, (l) => {
      if (l.name === "") stapler.setDefault(l.cert, l.key);
      if (l.reloaded && l.chain !== undefined) announcer.announce(l.chain, l.name);
    });
    certs.ocspServer = stapler.server;
    tls = certs;
    await certs.load(); // a certificate that cannot be read fails the start
    try {
      const kv = await openKv(bus, "ocsp-staples");
      await loadStaplesFromKv(kv, certs.chains().map((c) => c.chain.certId), staples, logger);
    } catch (err) {
      logger.warn({ event: ocspLogEvents.kvFailed, err }, "OCSP: KV ocsp-staples not read; staples arrive with PutStaple");
    }
    announcer.start(cfg.ocsp_announce_interval_ms);
    shutdown.add("ocsp-announce", () => announcer.stop());
  }
  const deps = {
    config: cfg,
    logger,
    metrics,
    policy,
    recipientData: recipientDataPolicy({ reject: cfg.prdr_reject_recipients, defer: cfg.prdr_defer_recipients }),
    recipientRefused: (r: { recipient: string; verdict: string; sender: string; ip: string; prdr: boolean; messageId?: string }) => {
      const event = newEvent("msg:rcpt:refused", {
        messageId: r.messageId ?? "",
        senderAddress: r.sender,
        attributes: { recipient: r.recipient, verdict: r.verdict, client_ip: r.ip, prdr: String(r.prdr) },
      });
      publishEvent(bus, event).catch((err: unknown) => logger.warn({ event: logEvents.eventFailed, name: event.name, err }, "msg:rcpt:refused event not stored"));
    },
    accept,
    ...(spf === undefined ? {} : { spf }),
    ...(dmarc === undefined ? {} : { dmarc }),
    ...(tls === undefined ? {} : { tls }),
    ...(cfg.connection_events ? { events: busConnectionEvents(bus, logger) } : {}),
  };
  // smtp_accept_max counts the SMTP and submission listeners together (as Exim's does)
  const limiter = new ConnectionLimiter({ max: cfg.smtp_accept_max, maxPerHost: cfg.smtp_accept_max_per_host });
  const listeners = await startSmtpListeners(cfg.smtp_listen, deps, limiter);
  shutdown.add("smtp", () => listeners.close(cfg.smtp_shutdown_grace_ms), { timeoutMs: cfg.smtp_shutdown_grace_ms + 5_000 });
  health.addCheck("smtp", () => listeners.listening());

  if (cfg.submission_listen.length > 0) {
    const sources: AuthSources = {};
    if (cfg.auth_passwords_file !== undefined) sources.file = new PasswordFile(cfg.auth_passwords_file);
    if (cfg.auth_redis_hash !== undefined && lookup !== undefined) {
      const redis = lookup;
      sources.redis = { key: cfg.auth_redis_hash, hget: (key, field) => redis.hget(key, field) };
    }
    const failed = (f: { user: string; ip: string; mechanism: string; result: string }): void => {
      const event = newEvent("auth:fail", { attributes: { user: f.user, client_ip: f.ip, mechanism: f.mechanism, result: f.result } });
      publishEvent(bus, event).catch((err: unknown) => logger.warn({ event: logEvents.eventFailed, name: event.name, err }, "auth:fail event not stored"));
    };
    const submission = await startSmtpListeners(cfg.submission_listen, { ...deps, auth: { authenticate: createAuthenticator(sources), failed } }, limiter);
    shutdown.add("submission", () => submission.close(cfg.smtp_shutdown_grace_ms), { timeoutMs: cfg.smtp_shutdown_grace_ms + 5_000 });
    health.addCheck("submission", () => submission.listening());
  }
  options.onStarted?.({ grpcListen: grpcServer.address, grpcAdvertised: replyTo });
}
