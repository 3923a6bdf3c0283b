import { attachBus, lightRequestCancel } from "@postern/bus";
import { EventsService, OutcomesService } from "@postern/proto";
import { type ServiceContext, startGrpcServer } from "@postern/service-kit";
import type { DeliveryEventsConfig, SinkConfig } from "./config";
import { createDeliveryEventsMetrics, logEvents } from "./diagnostics";
import { ensureDeadLetterStreams } from "./jetstream";
import { createOutcomesServer } from "./outcomes";
import { createPostgresWriter } from "./sinks/postgres";
import { createRedisWriter } from "./sinks/redis";
import { SinkWorker, type SinkWriter } from "./sinks/runner";
import { createEventsServer } from "./subscriptions";
import { parseAllowList } from "./webhooks/address-policy";
import { WebhookEndpoint } from "./webhooks/endpoint";

export async function startDeliveryEvents(ctx: ServiceContext<DeliveryEventsConfig>): Promise<void> {
  const { config, logger, shutdown } = ctx;
  const section = config.delivery_events;

  // Every stored event is a NATS request (its PubAck): without this each one leaves an unused Error behind.
  lightRequestCancel();
  const bus = await attachBus(ctx, config.nats);
  const metrics = createDeliveryEventsMetrics(ctx.metrics);
  await ensureDeadLetterStreams(bus, section.dead_letter);

  const allow = parseAllowList(section.webhook_allow_hosts);
  for (const webhook of section.webhooks) {
    const endpoint = new WebhookEndpoint(webhook, { bus, logger, metrics, allow });
    await endpoint.start();
    shutdown.add(`webhook ${webhook.name}`, () => endpoint.stop(), { timeoutMs: webhook.timeout_ms + 5000 });
  }

  const writerFor = async (sink: SinkConfig): Promise<SinkWriter> =>
    sink.type === "postgres"
      ? createPostgresWriter({
          url: sink.url,
          migrate: sink.migrate,
          onMigrated: (versions) => {
            if (versions.length > 0) logger.info({ event: logEvents.sinkMigrated, sink: sink.name, versions }, "postgres table created or upgraded");
          },
        })
      : createRedisWriter({ url: sink.url, stream: sink.stream, maxlen: sink.maxlen });
  for (const sink of section.sinks) {
    const worker = new SinkWorker(sink, await writerFor(sink), { bus, logger, metrics });
    await worker.start();
    shutdown.add(`sink ${sink.name}`, () => worker.stop());
  }

  const server = await startGrpcServer({
    listen: section.grpc.listen,
    tls: section.grpc.tls,
    auth: section.grpc,
    logger,
    services: [
      [OutcomesService, createOutcomesServer({ bus, logger, recorded: metrics.recorded })],
      [
        EventsService,
        createEventsServer({
          bus,
          logger,
          maxSubscribers: section.max_subscribers,
          maxInFlight: section.subscription_max_in_flight,
          durableIdleSeconds: section.durable_subscription_idle_seconds,
          active: metrics.subscriptions,
          stopping: shutdown.signal,
        }),
      ],
    ],
  });
  shutdown.add("grpc", () => server.close());
  logger.info(
    { event: logEvents.ready, grpc: server.address, webhooks: section.webhooks.map((w) => w.name), sinks: section.sinks.map((s) => s.name) },
    "delivery-events ready",
  );
}
