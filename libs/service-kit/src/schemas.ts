import { z } from "zod";

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof logLevels)[number];

/** { level = "info" } */
export const logConfigSchema = z.strictObject({
  level: z.enum(logLevels).default("info"),
});
export type LogConfig = z.infer<typeof logConfigSchema>;

/** Where /metrics /healthz /readyz are served: { host = "127.0.0.1", port = 0 } (0: any free port). */
export const httpConfigSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(0),
});
export type HttpConfig = z.infer<typeof httpConfigSchema>;

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

/** Splits "host:port" or "[v6]:port"; undefined when malformed or the port is out of range. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(value);
  if (!m) return undefined;
  const port = Number(m[1]);
  if (port > 65535) return undefined;
  const host = value.slice(0, value.length - (m[1] as string).length - 1);
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port };
}

/** "host:port" or "[v6]:port", port 0..65535. */
export const hostPortSchema = z.string().refine((v) => parseHostPort(v) !== undefined, { message: "expected host:port" });

/** Server side TLS; require_client_cert (mTLS) needs ca_file to verify clients against. */
export const tlsConfigSchema = z
  .strictObject({
    cert_file: z.string().min(1),
    key_file: z.string().min(1),
    ca_file: z.string().min(1).optional(),
    require_client_cert: z.boolean().default(false),
  })
  .refine((t) => !t.require_client_cert || t.ca_file !== undefined, {
    message: "required when require_client_cert is true",
    path: ["ca_file"],
  });
export type TlsConfig = z.infer<typeof tlsConfigSchema>;

/** Client side TLS: ca_file to verify the server (system CAs otherwise), cert/key for mTLS, server_name to check against. */
export const clientTlsConfigSchema = z
  .strictObject({
    ca_file: z.string().min(1).optional(),
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    server_name: z.string().min(1).optional(),
  })
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
    message: "cert_file and key_file go together",
    path: ["key_file"],
  });
export type ClientTlsConfig = z.infer<typeof clientTlsConfigSchema>;

/**
 * A shared bearer token for gRPC, given inline (auth_token, e.g. from POSTERN_..._AUTH_TOKEN) or
 * read from auth_token_file (one of the two; readAuthToken checks that). A server with a token
 * refuses calls without it (UNAUTHENTICATED); a client with one sends it on every call. At least
 * 16 characters: it is the only thing between the network and the callback APIs when mTLS is off.
 */
export const grpcAuthFields = {
  auth_token: z.string().min(16).optional(),
  auth_token_file: z.string().min(1).optional(),
};
export interface GrpcAuthConfig {
  auth_token?: string | undefined;
  auth_token_file?: string | undefined;
}

/**
 * HTTP/2 keepalive of a gRPC client (what clientChannelOptions makes of it). A worker's verdict
 * stream to an edge, or dane-outbound's channel to delivery-events, is a long-lived connection:
 * when the peer vanishes without a FIN or RST (node lost, partition, conntrack entry dropped) the
 * writes sit in the kernel's buffer and nothing notices until TCP retransmission gives up (about
 * 15 minutes on Linux). With keepalive the client sends a PING every keepalive_time_ms (0: off);
 * one not answered within keepalive_timeout_ms ends the connection, its calls end UNAVAILABLE and
 * the next call reconnects. keepalive_without_calls: ping idle connections too, so a dead one is
 * found before a call is made on it (and NAT/conntrack entries stay warm). Our gRPC servers are
 * grpc-js, which answers pings at any rate; a grpc-go or C-core server would want
 * min_ping_interval / permit_without_stream set to match (docs/adr/0006, keepalive addendum).
 */
export const grpcKeepaliveFields = {
  keepalive_time_ms: z
    .number()
    .int()
    .min(0)
    .refine((v) => v === 0 || v >= 1_000, { message: "expected 0 (off) or at least 1000 (milliseconds)" })
    .default(20_000),
  keepalive_timeout_ms: z.number().int().min(1_000).default(10_000),
  keepalive_without_calls: z.boolean().default(true),
};
export interface GrpcKeepaliveConfig {
  keepalive_time_ms?: number | undefined;
  keepalive_timeout_ms?: number | undefined;
  keepalive_without_calls?: boolean | undefined;
}

/** { listen = "127.0.0.1:0", advertise?: "host:port" others should dial, tls?, auth_token? | auth_token_file? } */
export const grpcServerConfigSchema = z.strictObject({
  listen: hostPortSchema.default("127.0.0.1:0"),
  advertise: hostPortSchema.optional(),
  tls: tlsConfigSchema.optional(),
  ...grpcAuthFields,
});
export type GrpcServerConfig = z.infer<typeof grpcServerConfigSchema>;

/** { deadline_ms = 5000, tls?, auth_token? | auth_token_file?, keepalive_time_ms = 20000, keepalive_timeout_ms = 10000, keepalive_without_calls = true } */
export const grpcClientConfigSchema = z.strictObject({
  deadline_ms: z.number().int().positive().default(5000),
  tls: clientTlsConfigSchema.optional(),
  ...grpcAuthFields,
  ...grpcKeepaliveFields,
});
export type GrpcClientConfig = z.infer<typeof grpcClientConfigSchema>;

function splitList(v: unknown): unknown {
  if (typeof v !== "string") return v;
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** A list of `item` given as an array or as "a,b" (the form an env override takes); `min` entries at least. */
export function stringListOf<T extends z.ZodType<unknown, string>>(item: T, opts: { min?: number } = {}) {
  return z.preprocess(splitList, z.array(item).min(opts.min ?? 0));
}

/** string[] given as ["a","b"] or "a,b". */
export const stringList = stringListOf(z.string().min(1));
