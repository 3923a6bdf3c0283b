import os from "node:os";
import { natsConfigSchema } from "@postern/bus";
import { grpcClientConfigSchema, hostPortSchema, httpConfigSchema, logConfigSchema } from "@postern/service-kit";
import { z } from "zod";
import { parseRoute } from "./routes";
import { tlsPolicyConfigFields } from "./tls-policy";

const DOMAIN_KEY = /^(?:\*|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)$/;

/** domain (lower case) or "*" -> route string, each checked with parseRoute. */
const routesSchema = z
  .record(z.string(), z.string())
  .default({})
  .superRefine((routes, ctx) => {
    for (const [domain, spec] of Object.entries(routes)) {
      if (!DOMAIN_KEY.test(domain)) {
        ctx.addIssue({ code: "custom", path: [domain], message: 'expected a lower-case domain or "*"' });
      }
      const parsed = parseRoute(spec);
      if ("error" in parsed) ctx.addIssue({ code: "custom", path: [domain], message: parsed.error });
    }
  });

const positiveInt = z.number().int().positive();

export const daneOutboundConfigSchema = z.strictObject({
  http: httpConfigSchema.prefault({}),
  /** Name sent in EHLO/HELO/LHLO. */
  helo_name: z
    .string()
    .regex(/^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[A-Za-z0-9:.]+\])$/, { message: "expected a host name or an address literal such as [192.0.2.1]" })
    .default(() => os.hostname()),
  routes: routesSchema,
  /**
   * Where records the edge accepted under a DMARC quarantine disposition (MailRecord.quarantine,
   * X-Postern-Quarantine) go, every recipient, instead of their domain's route: a route string
   * as in `routes` (e.g. maildir:/var/spool/postern/quarantine). Unset: delivered as usual.
   */
  quarantine_route: z
    .string()
    .optional()
    .superRefine((spec, ctx) => {
      if (spec === undefined) return;
      const parsed = parseRoute(spec);
      if ("error" in parsed) ctx.addIssue({ code: "custom", message: parsed.error });
    }),
  /** Where Outcomes.Record is served (the delivery-events service). */
  delivery_events: z
    .strictObject({ address: hostPortSchema.default("127.0.0.1:50054"), ...grpcClientConfigSchema.shape })
    .prefault({}),
  retry: z
    .strictObject({
      /** Delay before attempt n+1 after n deferred attempts; the last value repeats. */
      schedule_seconds: z.array(positiveInt).min(1).default([60, 300, 900, 1800, 3600]),
      /** Deferred recipients fail once the message is older than this. */
      max_age_seconds: positiveInt.default(432000),
    })
    .prefault({}),
  /** Messages delivered at once by this instance. */
  concurrency: positiveInt.max(1024).default(16),
  connect_timeout_ms: positiveInt.default(30000),
  /** Bound on each SMTP command's reply, and on the reply to the end of data. */
  command_timeout_ms: positiveInt.default(300000),
  /** JetStream ack wait of the consumer; msg.working() keeps long deliveries alive. */
  ack_wait_seconds: positiveInt.default(600),
  /** Consumer max_ack_pending; messages waiting for a delayed retry count against it. At least concurrency. */
  max_ack_pending: positiveInt.default(10000),
  /**
   * How long the completion marker of a delivered message stays in KV delivery-state (ADR 0002).
   * While it is there, a copy of the message that comes back (ack wait ran out, lost ack, an
   * edge re-publish within MAIL's 2-minute duplicate window) is dropped instead of delivered
   * again; after it, such a copy would be delivered. Keep it well above ack_wait_seconds (at
   * least twice: the schema refuses less) and the edge's publish retries.
   */
  state_marker_retention_ms: positiveInt.default(24 * 3600 * 1000),
  /** Time between sweeps of old completion markers (each instance sweeps; safe to overlap). 0: no sweeping. */
  state_marker_sweep_interval_ms: z.number().int().nonnegative().default(3600 * 1000),
  /** Delay before a message is offered again when reporting its outcomes to delivery-events failed. */
  report_retry_seconds: positiveInt.default(5),
  /** Port of MX hosts (route `mx`); tests point it at a loopback server. */
  smtp_port: positiveInt.max(65535).default(25),
  /** Resolver for route `mx`: host:port list (empty: /etc/resolv.conf). */
  dns: z
    .strictObject({
      servers: z.array(z.string()).default([]),
      timeout_ms: positiveInt.default(2000),
      attempts: positiveInt.max(10).default(2),
    })
    .prefault({}),
  /** Address families tried for MX hosts, in this order (interleaved). */
  ip_families: z.array(z.enum(["ipv6", "ipv4"])).min(1).default(["ipv6", "ipv4"]),
  /** STARTTLS when the server offers it (opportunistic). */
  tls: z.boolean().default(true),
  /** Hosts (name or IP, "*" or "*.suffix" patterns) to ask for PRDR when they offer it; Exim's default is "*". */
  hosts_try_prdr: z.array(z.string()).default(["*"]),
  /** Idle time of a kept-open session before it is closed (0: never reuse connections). */
  connection_idle_ms: z.number().int().nonnegative().default(5000),
  /** Messages sent over one connection before it is closed (Exim's connection_max_messages). */
  connection_max_messages: positiveInt.default(500),
  /** Connections at once to one host (ip:port). */
  max_connections_per_host: positiveInt.default(20),
  /** Deliveries at once to one recipient domain. */
  max_parallel_per_domain: positiveInt.default(20),
  /** How long a host that refused or timed out a connection is skipped (0: never). */
  host_down_seconds: z.number().int().nonnegative().default(60),
  /** Bounces (RFC 3464 DSNs) for failed and expired recipients; with Exim's DSN_INFO extra fields when dsn_info is true. */
  bounces: z.boolean().default(true),
  dsn_info: z.boolean().default(true),
  /** Bytes of the original message returned in a bounce (RET=FULL); beyond it only the headers. */
  bounce_return_size_limit: positiveInt.default(100 * 1024),
  /** DANE (RFC 7672) and OCSP options: hosts_try_dane, hosts_require_dane, hosts_request_ocsp, hosts_require_ocsp ... */
  ...tlsPolicyConfigFields,
});

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  dane_outbound: daneOutboundConfigSchema
    .refine((c) => c.max_ack_pending >= c.concurrency, { message: "max_ack_pending must be at least concurrency", path: ["max_ack_pending"] })
    .refine((c) => c.state_marker_retention_ms >= 2 * c.ack_wait_seconds * 1000, {
      message: "state_marker_retention_ms must be at least twice ack_wait_seconds (a copy handed out again must still find the marker)",
      path: ["state_marker_retention_ms"],
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type DaneOutboundConfig = Config["dane_outbound"];
