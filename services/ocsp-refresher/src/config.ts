import { z } from "zod";
import { natsConfigSchema } from "@postern/bus";
import { grpcClientConfigSchema, httpConfigSchema, logConfigSchema } from "@postern/service-kit";

const positiveInt = z.number().int().positive();

export const ocspRefresherConfigSchema = z
  .strictObject({
    http: httpConfigSchema.prefault({}),
    /** Ask this responder for every certificate instead of the one in its AIA extension. */
    responder_override_url: z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" }).optional(),
    /** Bound on one OCSP fetch: connect, send, receive. */
    fetch_timeout_ms: positiveInt.max(120_000).default(10_000),
    /** Larger responses are refused (and the connection dropped) as they arrive. */
    max_response_bytes: positiveInt.min(512).max(1 << 20).default(65_536),
    /** Refresh when this fraction of thisUpdate..nextUpdate has passed (earlier when the signer expires sooner). */
    refresh_fraction: z.number().gt(0).lt(1).default(0.5),
    /** Never refresh a certificate more often than this, whatever the response's validity. */
    min_refresh_interval_ms: positiveInt.default(60_000),
    /** Retry delay after n failures: initial_ms * 2^(n-1), at most max_ms, never past the staple's nextUpdate. */
    backoff: z
      .strictObject({ initial_ms: positiveInt.default(60_000), max_ms: positiveInt.default(3_600_000) })
      .refine((b) => b.max_ms >= b.initial_ms, { message: "max_ms must be at least initial_ms", path: ["max_ms"] })
      .prefault({}),
    /** Exim's tls_ocsp_file: the current staple of each certificate as <dir>/<cert_id>.der, replaced atomically. */
    staple_file_dir: z.string().min(1).optional(),
    /** Send an RFC 8954 nonce (caching responders ignore it; a different echoed nonce is refused). */
    request_nonce: z.boolean().default(false),
    /** How far thisUpdate may lie in the future. */
    max_clock_skew_ms: z.number().int().min(0).max(3_600_000).default(300_000),
    /** How often the watched set is checked for certificates due. */
    scan_interval_ms: positiveInt.default(1_000),
    /** How long one instance owns a certificate while refreshing it; longer than a fetch. */
    lease_ms: positiveInt.default(60_000),
    /** Certificates refreshed at once by this instance. */
    concurrency: positiveInt.max(64).default(4),
    /** An edge that has not announced a certificate for this long no longer gets its staples;
     *  a certificate no edge announces any more is dropped. Edges re-announce at start and hourly. */
    edge_ttl_seconds: positiveInt.min(7200).default(86_400),
    /** How EdgeCallback.PutStaple is called on the edges (reply_to addresses). */
    edge_callback: grpcClientConfigSchema.prefault({}),
  })
  .refine((c) => c.lease_ms > c.fetch_timeout_ms, { message: "lease_ms must exceed fetch_timeout_ms", path: ["lease_ms"] });

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  ocsp_refresher: ocspRefresherConfigSchema.prefault({}),
});

export type OcspRefresherConfig = z.infer<typeof configSchema>;
export type RefresherSettings = OcspRefresherConfig["ocsp_refresher"];
