import { Counter, Gauge, type Registry } from "prom-client";

/** Every log message dane-outbound writes (the `event` field of the record) and its fields. */
export const logEvents = {
  delivered: "delivery", // { message_id, recipient, router, transport, host, ip, port, confirmation } "=> ..."
  deferred: "delivery.defer", // { ..., errno, errstr } "== ..."
  failed: "delivery.fail", // { ..., errno, errstr } "** ..."
  consumerReady: "consumer.ready", // { stream, consumer, concurrency }
  consumerStopped: "consumer.stopped", // { in_flight }
  consumerError: "consumer.error", // { err }
  decodeFailed: "mail.decode_failed", // { err, seq } (message terminated)
  spoolMissing: "mail.spool_missing", // { message_id, object }
  spoolError: "mail.spool_error", // { message_id, err } (retried)
  reportFailed: "outcome.report_failed", // { message_id, event, err } (message offered again later)
  stateConflict: "state.conflict", // { message_id } (another worker owns the message)
  stateError: "state.error", // { message_id, err }
  handlerError: "mail.handler_error", // { message_id, err }
  rescheduled: "mail.rescheduled", // { message_id, attempt, delay_ms, deferred }
  completed: "mail.completed", // { message_id, attempts }
  alreadyDone: "mail.already_done", // { message_id } (a stale copy of a completed message, acked without delivery)
  ackFailed: "mail.ack_failed", // { message_id, err }
  bounced: "mail.bounced", // { message_id, bounce_id } (DSN enqueued to MAIL)
  bounceFailed: "mail.bounce_failed", // { message_id, bounce_id, err } (retried)
  stateSweep: "state.sweep", // { scanned, purged, raced, young, duration_ms } (completion markers removed)
  stateSweepError: "state.sweep_error", // { err } (the next sweep retries)
  daneResolverOffHost: "dane.resolver_off_host", // { servers } (warn at start: the AD bit DANE trusts crosses a network)
} as const;

export interface OutboundMetrics {
  /** postern_outbound_deliveries_total{outcome="delivered|deferred|failed", transport="maildir|smtp|lmtp|none"} */
  deliveries: Counter<"outcome" | "transport">;
  /** postern_outbound_messages_total{result="completed|rescheduled|report_retry|terminated"} */
  messages: Counter<"result">;
}

export function createOutboundMetrics(registry: Registry): OutboundMetrics {
  return {
    deliveries: new Counter({
      name: "postern_outbound_deliveries_total",
      help: "Recipient delivery attempts by outcome and transport",
      labelNames: ["outcome", "transport"] as const,
      registers: [registry],
    }),
    messages: new Counter({
      name: "postern_outbound_messages_total",
      help: "MAIL records handled, by what happened to the record",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
  };
}

/** The completion-marker sweeper of KV delivery-state (state-sweep.ts). */
export interface SweepMetrics {
  /** postern_outbound_state_markers_purged_total */
  markersPurged: Counter;
  /** postern_outbound_state_sweep_errors_total */
  sweepErrors: Counter;
  /** postern_outbound_state_sweep_duration_seconds (the last sweep, failed or not) */
  sweepDuration: Gauge;
}

export function createSweepMetrics(registry: Registry): SweepMetrics {
  return {
    markersPurged: new Counter({
      name: "postern_outbound_state_markers_purged_total",
      help: "Completion markers removed from KV delivery-state after their retention",
      registers: [registry],
    }),
    sweepErrors: new Counter({
      name: "postern_outbound_state_sweep_errors_total",
      help: "Completion marker sweeps that failed (retried at the next interval)",
      registers: [registry],
    }),
    sweepDuration: new Gauge({
      name: "postern_outbound_state_sweep_duration_seconds",
      help: "Duration of the last completion marker sweep",
      registers: [registry],
    }),
  };
}
