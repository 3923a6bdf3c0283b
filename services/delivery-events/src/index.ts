/**
 * delivery-events: stores what happens to mail (Outcomes.Record → JetStream
 * EVENTS) and streams it to subscribers (Events.Subscribe), the successor of
 * Exim's TPDA event_action hooks.
 *
 * SECURITY: Record and Subscribe accept input from other services and from
 * operators' tools; event names and patterns are validated, subscriptions
 * are capped (max_subscribers). Use mTLS (grpc.tls) outside a trusted network.
 *
 * DIAGNOSTICS: "event not stored" (warn) when JetStream refuses a write;
 * postern_events_recorded_total and postern_event_subscriptions metrics.
 */
export { configSchema, type DeliveryEventsConfig } from "./config";
export { startDeliveryEvents } from "./service";
export { isValidEventName, isValidEventPattern, matchesEventPattern } from "./event-names";
