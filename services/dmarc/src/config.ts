import { hostname } from "node:os";
import { natsConfigSchema } from "@postern/bus";
import { parseServer } from "@postern/dns";
import { dmarcModes } from "@postern/libdmarc";
import { clientTlsConfigSchema, grpcAuthFields, grpcKeepaliveFields, grpcServerConfigSchema, hostPortSchema, httpConfigSchema, logConfigSchema, stringListOf } from "@postern/service-kit";
import { z } from "zod";

const dnsServer = z.string().refine((v) => parseServer(v) !== null, { message: "expected an IP address with optional port" });
const mailbox = z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, { message: "expected an address local@domain" });

/** The `dmarc` section. Option names follow Exim where Exim has one (dmarc_enable_forensic, dmarc_forensic_sender). */
export const dmarcSectionSchema = z.strictObject({
  http: httpConfigSchema.prefault({}),
  /** Dmarc.Evaluate for operators and tools */
  grpc: grpcServerConfigSchema.extend({ listen: hostPortSchema.default("127.0.0.1:50053") }).prefault({}),
  callback: z
    .strictObject({
      /** a verdict must reach the asker within check_timeout_ms plus this of the request's arrival */
      deadline_ms: z.number().int().positive().default(1_000),
      /**
       * "stream": one long-lived StreamDmarcVerdicts call per edge, a message per batch; "batch": a
       * ReportDmarcBatch call per batch (docs/adr/0006). Either falls back for an older edge.
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
      servers: stringListOf(dnsServer, { min: 1 }).optional(),
      timeout_ms: z.number().int().positive().default(2_000),
      attempts: z.number().int().positive().default(2),
    })
    .prefault({}),
  /** rfc9989: DNS tree walk, np, psd, t (the current standard); rfc7489: Public Suffix List, pct (libopendmarc's behaviour) */
  mode: z.enum(dmarcModes).default("rfc9989"),
  /** RFC 7489 mode: whether the PSL's private section (github.io ...) counts */
  psl_private_domains: z.boolean().default(true),
  /** authserv-id in Authentication-Results, Reporting-MTA and the aggregate report's receiver */
  authserv_id: z
    .string()
    .regex(/^[\x21-\x7e]+$/, { message: "expected a host name without spaces" })
    .default(() => hostname()),
  /** a check still running after this is temperror; keep it below the edge's DMARC timeout */
  check_timeout_ms: z.number().int().positive().default(4_000),
  max_in_flight: z.number().int().positive().default(500),
  /** messages larger than this are not read: temperror */
  max_message_bytes: z.number().int().positive().default(64 * 1024 * 1024),
  dkim: z
    .strictObject({
      allow_sha1: z.boolean().default(false),
      min_rsa_bits: z.number().int().min(512).default(1024),
      max_signatures: z.number().int().positive().default(10),
    })
    .prefault({}),
  /** Exim: control = dmarc_enable_forensic. Failure reports (RFC 6591 / RFC 9991) to verified ruf= addresses. */
  dmarc_enable_forensic: z.boolean().default(false),
  /** Exim: dmarc_forensic_sender. Default postmaster@<authserv_id>. */
  dmarc_forensic_sender: mailbox.optional(),
  /** failure reports per reported domain per hour and instance (RFC 9991 asks receivers to limit them); 0: none */
  forensic_max_per_domain_hour: z.number().int().min(0).default(20),
  reports: z
    .strictObject({
      /** record one aggregate row per evaluation (JetStream stream DMARC_AGGREGATE) */
      aggregate: z.boolean().default(true),
      org_name: z.string().min(1).default("Postern"),
      /** report_metadata/email and the aggregate report's From; default dmarc-reports@<authserv_id> */
      email: mailbox.optional(),
      /** seconds of rows kept when no report job runs */
      max_age_seconds: z.number().int().positive().default(7 * 86400),
      /** rows are merged in memory per policy domain and published at most this late (a crash loses this window) */
      flush_ms: z.number().int().positive().max(60_000).default(1000),
      /** distinct rows held before a flush starts at once */
      max_rows: z.number().int().positive().default(10_000),
    })
    .prefault({}),
});
export type DmarcSection = z.infer<typeof dmarcSectionSchema>;

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  dmarc: dmarcSectionSchema.prefault({}),
});

export type DmarcConfig = z.infer<typeof configSchema>;
