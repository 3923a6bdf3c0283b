/**
 * delivery-events: stores what happens to mail (Outcomes.Record → JetStream
 * EVENTS) and hands it on — the successor of Exim's TPDA/event_action hooks:
 * Events.Subscribe streams (filters by name, sender and recipient domain,
 * message id; start from now, a time or a sequence; durable named
 * subscriptions), signed webhooks with retries and a dead-letter stream, and
 * sinks into Postgres and Redis streams. Webhooks and sinks are durable
 * JetStream consumers shared by every instance.
 *
 * STANDARDS: Standard Webhooks (webhook-id, webhook-timestamp,
 * webhook-signature: v1 HMAC-SHA256, whsec_ secrets).
 *
 * SECURITY: Record and Subscribe accept input from other services and from
 * operators' tools; event names, patterns and domains are validated,
 * subscriptions are capped (max_subscribers) and bounded in flight. Webhooks
 * never reach loopback, private, link-local and other reserved addresses
 * unless webhook_allow_hosts allows them; the address checked is the one
 * connected to. Postgres writes are parameterised. Use mTLS (grpc.tls)
 * outside a trusted network. Secrets are never logged.
 *
 * DIAGNOSTICS: log records carry `event` from logEvents (./diagnostics.ts);
 * metrics postern_events_recorded_total, postern_event_subscriptions,
 * postern_webhook_requests_total, postern_webhook_request_seconds,
 * postern_webhook_dead_lettered_total, postern_sink_events_total.
 */
export { configSchema, type DeliveryEventsConfig, type WebhookConfig, type SinkConfig } from "./config";
export { startDeliveryEvents } from "./service";
export { isValidEventName, isValidEventPattern, matchesEventPattern } from "./event-names";
export { isValidDomainPattern, matchesFilter, type EventFilter } from "./filters";
export { logEvents } from "./diagnostics";
export { DurableFilterMismatch, WebhookDeniedError, eventsErrorCodes } from "./errors";
export { deadLetterStream, replayStream, dlqSubjects, durableNames } from "./names";
export { ensureDeadLetterStreams } from "./jetstream";
export { listDeadLetters, replayDeadLetters, type DeadLetter } from "./webhooks/dead-letter";
export { parseSecret, sign, signedHeaders, verify, type SignedHeaders } from "./webhooks/signing";
export { migratePostgres } from "./sinks/postgres";
export { TABLE as postgresTable, COLUMNS as postgresColumns } from "./sinks/postgres-schema";
