/**
 * The `delivery_events` section. Example (docs/adr/0004-delivery-events-sinks.md has the rest):
 *
 *   delivery_events:
 *     grpc: { listen: "127.0.0.1:50054" }
 *     webhooks:
 *       - name: crm                          # [A-Za-z0-9_-]{1,64}; names the JetStream consumer
 *         url: https://hooks.example.org/postern
 *         secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw   # Standard Webhooks secret (base64 of 16-64 bytes)
 *         events: ["msg:*"]                  # name patterns; also sender_domains / recipient_domains
 *         max_concurrency: 4                 # requests in flight to this endpoint, per instance
 *         retry_for_seconds: 86400           # after this (from when the event was stored): dead letter
 *     webhook_allow_hosts: ["10.1.0.0/16", "hooks.internal"]   # private/loopback/link-local are denied otherwise
 *     sinks:
 *       - { name: audit, type: postgres, url: "postgres://postern@db/postern" }
 *       - { name: feed, type: redis, url: "redis://127.0.0.1:6379", stream: "postern:events", maxlen: 100000 }
 *
 * Lists can be overridden from the environment as JSON, e.g.
 * POSTERN_DELIVERY_EVENTS__WEBHOOKS='[{"name":"crm","url":"...","secret":"whsec_..."}]'.
 */
import { z } from "zod";
import { grpcServerConfigSchema, httpConfigSchema, logConfigSchema, stringListOf } from "@postern/service-kit";
import { natsConfigSchema, streamConfigSchema } from "@postern/bus";
import { isValidEventPattern } from "./event-names";
import { isValidDomainPattern } from "./filters";
import { allowEntryProblem } from "./webhooks/address-policy";
import { parseSecret } from "./webhooks/signing";

const positiveInt = z.number().int().positive();

/** Names a webhook endpoint or sink, and with it its JetStream consumer. */
export const workerName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "expected 1 to 64 letters, digits, _ or -" });

const eventPatterns = stringListOf(z.string().refine(isValidEventPattern, { error: 'expected an event name pattern such as "msg:*" or ">"' }), { min: 1 });
const domainPatterns = stringListOf(z.string().refine(isValidDomainPattern, { error: 'expected a domain or "*.domain"' }));

/** Which events a webhook or sink takes: names (default all) AND sender domains AND recipient domains (default any). */
const filterFields = {
  events: eventPatterns.default([">"]),
  sender_domains: domainPatterns.default([]),
  recipient_domains: domainPatterns.default([]),
};

const httpUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
    } catch {
      return false;
    }
  },
  { error: "expected an http:// or https:// URL" },
);

export const webhookConfigSchema = z
  .strictObject({
    name: workerName,
    url: httpUrl,
    /** whsec_<base64 of 16..64 random bytes>; the key of the HMAC-SHA256 signature. */
    secret: z.string().refine((s) => parseSecret(s) !== undefined, { error: "expected whsec_ followed by base64 of 16 to 64 bytes" }),
    ...filterFields,
    /** Requests in flight to this endpoint from one instance. */
    max_concurrency: positiveInt.max(256).default(4),
    /** An event is retried until this long after it was stored in EVENTS, then dead-lettered. */
    retry_for_seconds: positiveInt.default(86400),
    /** First retry delay; each further one doubles (with jitter) up to retry_max_ms. */
    retry_initial_ms: positiveInt.default(5000),
    retry_max_ms: positiveInt.default(3_600_000),
    /** Bound on one request (connect, send, response). */
    timeout_ms: positiveInt.default(10_000),
    /** Consumer max_ack_pending: events delivered but not settled, retries waiting included. */
    max_pending: positiveInt.default(1000),
  })
  .refine((w) => w.retry_max_ms >= w.retry_initial_ms, { error: "must be at least retry_initial_ms", path: ["retry_max_ms"] });

const sinkCommon = {
  name: workerName,
  ...filterFields,
  /** Events written per statement / pipeline. */
  batch_size: positiveInt.max(1000).default(100),
  /** A partial batch is written after this long. */
  flush_ms: positiveInt.default(200),
  /** Where a new sink starts: events stored from now on, or everything EVENTS still holds. */
  start: z.enum(["new", "all"]).default("new"),
};

export const postgresSinkSchema = z.strictObject({
  type: z.literal("postgres"),
  ...sinkCommon,
  /** postgres://user:password@host:port/database (pg connection string; sslmode etc. as query parameters). */
  url: z.string().regex(/^postgres(?:ql)?:\/\//, { error: "expected a postgres:// URL" }),
  /** Create or upgrade the table postern_delivery_events at start-up (else: postern events migrate). */
  migrate: z.boolean().default(true),
});

export const redisSinkSchema = z.strictObject({
  type: z.literal("redis"),
  ...sinkCommon,
  url: z.string().regex(/^rediss?:\/\//, { error: "expected a redis:// or rediss:// URL" }),
  /** Stream key; each event is one entry (XADD key MAXLEN ~ maxlen * field value ...). */
  stream: z.string().min(1).max(512).default("postern:events"),
  /** Approximate length cap of the stream. */
  maxlen: positiveInt.default(100_000),
});

export const sinkConfigSchema = z.discriminatedUnion("type", [postgresSinkSchema, redisSinkSchema]);

const uniqueNames = <T extends { name: string }>(list: T[], ctx: z.RefinementCtx): void => {
  const seen = new Set<string>();
  list.forEach((item, i) => {
    if (seen.has(item.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate name ${JSON.stringify(item.name)}` });
    seen.add(item.name);
  });
};

export const deliveryEventsSectionSchema = z.strictObject({
  http: httpConfigSchema.prefault({}),
  grpc: grpcServerConfigSchema.prefault({ listen: "127.0.0.1:50054" }),
  /** Upper bound on concurrent Events.Subscribe streams, so a misbehaving client cannot exhaust the server. */
  max_subscribers: positiveInt.default(256),
  /** Events sent to one subscriber and not yet written to its connection (durable consumer max_ack_pending). */
  subscription_max_in_flight: positiveInt.max(10_000).default(256),
  /** A durable subscription nobody has resumed for this long is deleted (consumer inactive_threshold). */
  durable_subscription_idle_seconds: positiveInt.default(7 * 86400),
  webhooks: z.array(webhookConfigSchema).default([]).superRefine(uniqueNames),
  /** CIDRs, addresses or host names ("*.internal.example") webhooks may reach although private, loopback or link-local. */
  webhook_allow_hosts: stringListOf(
    z.string().superRefine((entry, ctx) => {
      const problem = allowEntryProblem(entry);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }),
  ).default([]),
  /** Streams EVENTS_DLQ (dead letters, kept max_age_seconds) and EVENTS_REPLAY (work queue of replays). */
  // The 30-day default sits on the field, not on the section, so that setting only
  // another field (POSTERN_DELIVERY_EVENTS__DEAD_LETTER__REPLICAS=3) keeps it.
  dead_letter: streamConfigSchema.extend({ max_age_seconds: streamConfigSchema.shape.max_age_seconds.unwrap().default(30 * 86400) }).prefault({}),
  sinks: z.array(sinkConfigSchema).default([]).superRefine(uniqueNames),
});

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  delivery_events: deliveryEventsSectionSchema.prefault({}),
});

export type DeliveryEventsConfig = z.infer<typeof configSchema>;
export type DeliveryEventsSection = DeliveryEventsConfig["delivery_events"];
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;
export type SinkConfig = z.infer<typeof sinkConfigSchema>;
export type PostgresSinkConfig = z.infer<typeof postgresSinkSchema>;
export type RedisSinkConfig = z.infer<typeof redisSinkSchema>;
