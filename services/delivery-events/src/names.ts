/**
 * The NATS names delivery-events owns besides libs/bus's EVENTS stream: the
 * dead-letter and replay streams of webhooks, and the durable consumers of
 * subscriptions, webhook endpoints and sinks.
 */

export const deadLetterStream = "EVENTS_DLQ";
export const replayStream = "EVENTS_REPLAY";

export const dlqSubjects = {
  /** Dead letters of one endpoint, stream EVENTS_DLQ. */
  deadLetter: (endpoint: string): string => `postern.webhook.dlq.${endpoint}`,
  deadLetterAll: "postern.webhook.dlq.>",
  /** Replays queued for one endpoint, work-queue stream EVENTS_REPLAY. */
  replay: (endpoint: string): string => `postern.webhook.replay.${endpoint}`,
  replayAll: "postern.webhook.replay.>",
} as const;

export const durableNames = {
  subscription: (name: string): string => `postern-sub-${name}`,
  webhook: (endpoint: string): string => `postern-webhook-${endpoint}`,
  webhookReplay: (endpoint: string): string => `postern-webhook-replay-${endpoint}`,
  sink: (name: string): string => `postern-sink-${name}`,
} as const;

/** Headers of a dead letter (the payload is the event, protobuf-encoded, as stored in EVENTS). */
export const dlqHeaders = {
  endpoint: "Postern-Endpoint",
  eventId: "Postern-Event-Id",
  eventName: "Postern-Event-Name",
  /** The event's sequence in EVENTS. */
  sequence: "Postern-Event-Sequence",
  attempts: "Postern-Attempts",
  lastError: "Postern-Last-Error",
  failedAt: "Postern-Failed-At",
  /** On a replay: the dead letter's sequence in EVENTS_DLQ. */
  replayOf: "Postern-Replay-Of",
} as const;

/** A subscription's or worker's name: letters, digits, "_" and "-", 1 to 64 characters. */
export const WORKER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
