import { Counter, Gauge } from "prom-client";
import { attachBus } from "@postern/bus";
import { OutcomesService, EventsService } from "@postern/proto";
import { type ServiceContext, startGrpcServer } from "@postern/service-kit";
import type { DeliveryEventsConfig } from "./config";
import { createOutcomesServer } from "./outcomes";
import { createEventsServer } from "./subscriptions";

export async function startDeliveryEvents(ctx: ServiceContext<DeliveryEventsConfig>): Promise<void> {
  const { config, logger, metrics, shutdown } = ctx;
  const section = config.delivery_events;

  const bus = await attachBus(ctx, config.nats);

  const recorded = new Counter({
    name: "postern_events_recorded_total",
    help: "Events received through Outcomes.Record, by name and result (stored, duplicate, invalid, error).",
    labelNames: ["name", "result"] as const,
    registers: [metrics],
  });
  const active = new Gauge({ name: "postern_event_subscriptions", help: "Open Events.Subscribe streams.", registers: [metrics] });

  const server = await startGrpcServer({
    listen: section.grpc.listen,
    tls: section.grpc.tls,
    logger,
    services: [
      [OutcomesService, createOutcomesServer({ bus, logger, recorded })],
      [EventsService, createEventsServer({ bus, logger, maxSubscribers: section.max_subscribers, active, stopping: shutdown.signal })],
    ],
  });
  shutdown.add("grpc", () => server.close());
  logger.info({ grpc: server.address }, "delivery-events ready");
}
