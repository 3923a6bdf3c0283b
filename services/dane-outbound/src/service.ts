import { attachBus, openKv, openSpool, type ObjectStore } from "@postern/bus";
import { OutcomesClient } from "@postern/proto";
import { clientCredentials, type ServiceContext } from "@postern/service-kit";
import { type Config } from "./config";
import { ensureOutboundConsumer, runConsumer, type JsMsg } from "./consumer";
import { createOutboundMetrics, logEvents } from "./diagnostics";
import { StateConflictError } from "./errors";
import { handleMail, type Disposition, type HandlerDeps } from "./handle-mail";
import { maildirTransport } from "./maildir";
import { outcomesRecorder } from "./outcomes";
import { parseRoute, RouteKind, type Route } from "./routes";
import { smtpTransport } from "./smtp-transport";
import { StateStore } from "./state";
import { type Transport } from "./types";

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

function transportFactory(cfg: Config["dane_outbound"]): HandlerDeps["transportFor"] {
  const cache = new Map<string, { name: string; deliver: Transport }>();
  return (route) => {
    let t = cache.get(route.spec);
    if (!t) {
      t =
        route.kind === RouteKind.Maildir
          ? { name: "maildir", deliver: maildirTransport(route.dir) }
          : {
              name: route.kind,
              deliver: smtpTransport({
                host: route.host,
                port: route.port,
                lmtp: route.kind === RouteKind.Lmtp,
                heloName: cfg.helo_name,
                connectTimeoutMs: cfg.connect_timeout_ms,
                commandTimeoutMs: cfg.command_timeout_ms,
              }),
            };
      cache.set(route.spec, t);
    }
    return t;
  };
}

/** Applies the handler's decision to the JetStream message; state is removed only after a confirmed ack. */
async function dispose(m: JsMsg, d: Disposition, store: StateStore, log: ServiceContext<Config>["logger"]): Promise<void> {
  if (d.kind === "nak") m.nak(d.delayMs);
  else if (d.kind === "term") m.term();
  else if (d.kind === "ack") {
    try {
      await m.ackAck();
      await store.remove(d.messageId);
    } catch (err) {
      log.error({ event: logEvents.ackFailed, message_id: d.messageId, err }, "ack or state clean-up failed");
    }
  }
}

/** dane-outbound: pulls MAIL, delivers per recipient, records outcomes, acks when every recipient is final. */
export async function startDaneOutbound(ctx: ServiceContext<Config>): Promise<void> {
  const cfg = ctx.config.dane_outbound;
  const log = ctx.logger;
  const bus = await attachBus(ctx, ctx.config.nats);

  const outcomes = new OutcomesClient(cfg.delivery_events.address, clientCredentials(cfg.delivery_events.tls));
  ctx.shutdown.add("delivery-events client", () => outcomes.close());
  const store = new StateStore(await openKv(bus, "delivery-state"));
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
    transportFor: transportFactory(cfg),
    retry: cfg.retry,
    reportRetryMs: cfg.report_retry_seconds * 1000,
    logger: log,
    metrics: createOutboundMetrics(ctx.metrics),
  };

  const keepAliveMs = Math.max(1000, (cfg.ack_wait_seconds * 1000) / 3);
  const handle = async (m: JsMsg): Promise<void> => {
    let last = Date.now();
    const working = (): void => {
      if (Date.now() - last < 1000) return;
      last = Date.now();
      m.working();
    };
    const timer = setInterval(() => m.working(), keepAliveMs);
    try {
      await dispose(m, await handleMail(deps, m.data, working), store, log);
    } catch (err) {
      if (err instanceof StateConflictError) {
        log.warn({ event: logEvents.stateConflict, message_id: err.messageId }, "another worker owns this message");
        return;
      }
      log.error({ event: logEvents.handlerError, seq: m.seq, err }, "delivery failed unexpectedly; will retry");
      m.nak(deps.reportRetryMs);
    } finally {
      clearInterval(timer);
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
      log.info({ event: logEvents.consumerStopped, in_flight: runner.inFlight() }, "consumer stopped");
    },
    { timeoutMs: SHUTDOWN_GRACE_MS * 2 + 1000 },
  );
  log.info({ event: logEvents.consumerReady, stream: "MAIL", consumer: "outbound", concurrency: cfg.concurrency }, "consuming MAIL");
}
