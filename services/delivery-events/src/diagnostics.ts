/**
 * What delivery-events logs (the `event` field of each record) and the
 * metrics it exports, in one place.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export const logEvents = {
  /** info: gRPC server listening; fields grpc, webhooks, sinks */
  ready: "delivery_events.ready",
  /** warn: JetStream refused an Outcomes.Record write; fields event_id, name */
  notStored: "event.not_stored",
  /** warn: a message in EVENTS is not a valid Event; field seq */
  undecodable: "event.undecodable",
  /** warn: an Events.Subscribe stream failed; field err */
  subscriptionFailed: "subscription.failed",
  /** info: a durable subscription was created, resumed or repositioned; fields durable, how, after */
  durableOpened: "subscription.durable_opened",
  /** info (debug for each retry): a webhook request failed; fields endpoint, event_id, seq, error, delay_ms */
  webhookRetry: "webhook.retry",
  /** warn: an event went to the dead-letter stream; fields endpoint, event_id, seq, error */
  webhookDeadLettered: "webhook.dead_lettered",
  /** error: a webhook endpoint's worker stopped; fields endpoint, err */
  webhookWorkerFailed: "webhook.worker_failed",
  /** warn: a sink write failed and is retried; fields sink, err, delay_ms */
  sinkWriteFailed: "sink.write_failed",
  /** error: a sink's worker stopped; fields sink, err */
  sinkWorkerFailed: "sink.worker_failed",
  /** info: the Postgres table was created or upgraded; fields sink, versions */
  sinkMigrated: "sink.migrated",
} as const;

export interface DeliveryEventsMetrics {
  recorded: Counter<"name" | "result">;
  subscriptions: Gauge;
  webhookRequests: Counter<"endpoint" | "result">;
  webhookSeconds: Histogram<"endpoint">;
  webhookDeadLettered: Counter<"endpoint">;
  sinkEvents: Counter<"sink" | "result">;
}

export function createDeliveryEventsMetrics(registry: Registry): DeliveryEventsMetrics {
  const registers = [registry];
  return {
    recorded: new Counter({
      name: "postern_events_recorded_total",
      help: "Events received through Outcomes.Record, by name and result (stored, duplicate, invalid, error).",
      labelNames: ["name", "result"] as const,
      registers,
    }),
    subscriptions: new Gauge({ name: "postern_event_subscriptions", help: "Open Events.Subscribe streams.", registers }),
    webhookRequests: new Counter({
      name: "postern_webhook_requests_total",
      help: "Webhook deliveries by endpoint and result (delivered, failed, held: waiting for an earlier event of the same message).",
      labelNames: ["endpoint", "result"] as const,
      registers,
    }),
    webhookSeconds: new Histogram({
      name: "postern_webhook_request_seconds",
      help: "Duration of webhook requests.",
      labelNames: ["endpoint"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    webhookDeadLettered: new Counter({
      name: "postern_webhook_dead_lettered_total",
      help: "Events moved to EVENTS_DLQ after their retry time ran out, by endpoint.",
      labelNames: ["endpoint"] as const,
      registers,
    }),
    sinkEvents: new Counter({
      name: "postern_sink_events_total",
      help: "Events handled by sinks, by sink and result (written, skipped: filtered out, failed: write attempts that failed).",
      labelNames: ["sink", "result"] as const,
      registers,
    }),
  };
}
