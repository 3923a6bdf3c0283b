import os from "node:os";
import { natsConfigSchema } from "@postern/bus";
import { grpcClientConfigSchema, hostPortSchema, httpConfigSchema, logConfigSchema } from "@postern/service-kit";
import { z } from "zod";
import { parseRoute } from "./routes";

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
  /** Delay before a message is offered again when reporting its outcomes to delivery-events failed. */
  report_retry_seconds: positiveInt.default(5),
});

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  dane_outbound: daneOutboundConfigSchema
    .refine((c) => c.max_ack_pending >= c.concurrency, { message: "max_ack_pending must be at least concurrency", path: ["max_ack_pending"] })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type DaneOutboundConfig = Config["dane_outbound"];
