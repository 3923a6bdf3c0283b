import { hostname } from "node:os";
import { natsConfigSchema } from "@postern/bus";
import { parseServer } from "@postern/dns";
import { DEFAULT_GUESS_RECORD, parseRecord } from "@postern/libspf";
import { clientTlsConfigSchema, grpcAuthFields, grpcKeepaliveFields, grpcServerConfigSchema, hostPortSchema, httpConfigSchema, logConfigSchema, stringListOf } from "@postern/service-kit";
import { z } from "zod";

const dnsServer = z.string().refine((v) => parseServer(v) !== null, { message: "expected an IP address with optional port" });

const spfRecord = z.string().superRefine((text, ctx) => {
  const parsed = parseRecord(text);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: `not a usable SPF record: ${parsed.error.message}` });
});

/** The `spf` section. Option names follow Exim where Exim has one (spf_guess). */
export const spfSectionSchema = z.strictObject({
  http: httpConfigSchema.prefault({}),
  /** Spf.Check for operators and tools */
  grpc: grpcServerConfigSchema.extend({ listen: hostPortSchema.default("127.0.0.1:50052") }).prefault({}),
  /** how verdicts reach the asker's EdgeCallback (reply_to.grpc_address) */
  callback: z
    .strictObject({
      /**
       * a verdict must reach the asker within check_timeout_ms plus this after the request
       * arrived, or it is given up (the edge waits spf_timeout_ms, 5000, in all)
       */
      deadline_ms: z.number().int().positive().default(1_000),
      /**
       * "stream": one long-lived StreamSpfVerdicts call per edge, a message per batch; "batch": a
       * ReportSpfBatch call per batch (docs/adr/0006). Either falls back for an older edge.
       */
      mode: z.enum(["stream", "batch"]).default("stream"),
      tls: clientTlsConfigSchema.optional(),
      ...grpcAuthFields,
      /**
       * HTTP/2 keepalive on the channel to each edge (default: a PING every 20 s, 10 s for the answer, idle
       * connections too; keepalive_time_ms 0 turns it off): a stream to an edge that vanished without a FIN/RST
       * ends UNAVAILABLE within ~30 s instead of after TCP's ~15 min, and the next flush opens a new one
       */
      ...grpcKeepaliveFields,
    })
    .prefault({}),
  dns: z
    .strictObject({
      /** "127.0.0.1:53", "[::1]:53" ...; /etc/resolv.conf when absent */
      servers: stringListOf(dnsServer, { min: 1 }).optional(),
      /** per server and attempt */
      timeout_ms: z.number().int().positive().default(2_000),
      /** passes over the server list */
      attempts: z.number().int().positive().default(2),
    })
    .prefault({}),
  /** our host name in Received-SPF and the %{r} macro */
  receiver: z
    .string()
    .regex(/^[\x21-\x7e]+$/, { message: "expected a host name without spaces" })
    .default(() => hostname()),
  /** record applied when a domain publishes none and spf_guess_enable is set (Exim: spf_guess) */
  spf_guess: spfRecord.default(DEFAULT_GUESS_RECORD),
  spf_guess_enable: z.boolean().default(false),
  /** a check still running after this is temperror; keep it below the edge's spf_timeout_ms */
  check_timeout_ms: z.number().int().positive().default(4_000),
  /** checks at once; requests beyond it are answered temperror without a check */
  max_in_flight: z.number().int().positive().default(1_000),
});
export type SpfSection = z.infer<typeof spfSectionSchema>;

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  spf: spfSectionSchema.prefault({}),
});

export type SpfConfig = z.infer<typeof configSchema>;
