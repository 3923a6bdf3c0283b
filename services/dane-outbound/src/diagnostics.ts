import { Counter, type Registry } from "prom-client";

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
