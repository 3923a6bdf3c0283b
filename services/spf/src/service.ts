import { attachBus } from "@postern/bus";
import { createResolver } from "@postern/dns";
import { type SpfDns } from "@postern/libspf";
import { EdgeCallbackClient, SpfService } from "@postern/proto";
import { Admission, clientChannelOptions, clientCredentials, GrpcClientPool, type ServiceContext, startGrpcServer } from "@postern/service-kit";
import { createCheck } from "./checker";
import { type SpfConfig } from "./config";
import { startConsumer } from "./consumer";
import { createSpfMetrics, logEvents } from "./diagnostics";
import { spfDnsFromResolver } from "./dns-adapter";
import { spfServer } from "./server";

export interface SpfDeps {
  /** Replaces the resolver built from the `dns` section (tests and benchmarks: createZoneDns). */
  dns?: SpfDns;
}

/**
 * Wires the spf service. Closers run in reverse order at shutdown: the
 * subscription is drained, in-flight checks and their replies finish (bounded
 * by check_timeout_ms plus the callback deadline), the gRPC server and the
 * callback clients close, and NATS is drained last (attachBus).
 */
export async function startSpf(ctx: ServiceContext<SpfConfig>, deps: SpfDeps = {}): Promise<void> {
  const { logger, shutdown } = ctx;
  const cfg = ctx.config.spf;
  const metrics = createSpfMetrics(ctx.metrics);
  const dns =
    deps.dns ??
    spfDnsFromResolver(
      createResolver({
        ...(cfg.dns.servers === undefined ? {} : { servers: cfg.dns.servers }),
        timeoutMs: cfg.dns.timeout_ms,
        attempts: cfg.dns.attempts,
        onQuery: metrics.onDnsQuery,
      }),
    );
  const check = createCheck({ dns, receiver: cfg.receiver, guessRecord: cfg.spf_guess, timeoutMs: cfg.check_timeout_ms, metrics });
  const admission = new Admission(cfg.max_in_flight);

  const bus = await attachBus(ctx, ctx.config.nats);
  const callbacks = new GrpcClientPool(EdgeCallbackClient, clientCredentials(cfg.callback.tls), clientChannelOptions(cfg.callback.tls, cfg.callback));
  const server = await startGrpcServer({
    listen: cfg.grpc.listen,
    tls: cfg.grpc.tls,
    auth: cfg.grpc,
    logger,
    services: [[SpfService, spfServer({ check, admission, guess: cfg.spf_guess_enable, logger })]],
  });
  shutdown.add("grpc", async () => {
    await server.close();
    callbacks.close();
  });

  // A verdict is due at the asker within this long of the request's arrival; shutdown waits as long.
  const budgetMs = cfg.check_timeout_ms + cfg.callback.deadline_ms;
  shutdown.add(
    "checks in flight",
    async () => {
      admission.close();
      if (!(await admission.idle(budgetMs))) logger.warn({ event: logEvents.drainTimeout, in_flight: admission.size }, "checks still running at shutdown");
    },
    { timeoutMs: budgetMs + 1_000 },
  );

  const consumer = startConsumer({
    bus,
    check,
    admission,
    callbacks,
    replyBudgetMs: budgetMs,
    replyMode: cfg.callback.mode,
    receiver: cfg.receiver,
    guess: cfg.spf_guess_enable,
    metrics,
    logger,
  });
  shutdown.add("spf.check consumer", () => consumer.stop());
  await bus.nc.flush();
  logger.info({ grpc: server.address }, "spf ready");
}
