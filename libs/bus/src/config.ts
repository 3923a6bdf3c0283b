import { z } from "zod";

const URL_HINT = "expected a nats:// or tls:// URL such as nats://127.0.0.1:4222";

/** Why `value` is not a usable NATS server URL, or undefined when it is. The value is never echoed (it may hold a password). */
function natsUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return URL_HINT;
  }
  if (url.protocol !== "nats:" && url.protocol !== "tls:") return URL_HINT;
  if (url.hostname === "") return `${URL_HINT} (the host is missing)`;
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    return `${URL_HINT} (no path, query or fragment)`;
  }
  return undefined;
}

function splitList(v: unknown): unknown {
  if (typeof v !== "string") return v;
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

const natsUrl = z.string().superRefine((value, ctx) => {
  const problem = natsUrlProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/** ["nats://a:4222", "nats://b:4222"] or "nats://a:4222,nats://b:4222" (the form an env override takes). */
const serverList = z.preprocess(splitList, z.array(natsUrl).min(1, { error: "at least one server URL is required" }));

const storage = z.enum(["file", "memory"]).default("file");
const replicas = z.number().int().min(1).max(5).default(1);
/** Seconds; 0 means no limit. */
const seconds = z.number().int().nonnegative();
/** -1 means no limit; 0 is refused because JetStream silently turns it into -1. */
const maxBytes = z
  .number()
  .int()
  .refine((v) => v === -1 || v > 0, { error: "expected -1 (no limit) or a positive number of bytes" })
  .default(-1);

const WEEK = 7 * 24 * 3600;

/** A stream: { storage = "file", replicas = 1, max_age_seconds = 604800 (0: none), max_bytes = -1 } */
export const streamConfigSchema = z.strictObject({
  storage,
  replicas,
  max_age_seconds: seconds.default(WEEK),
  max_bytes: maxBytes,
});

/** The object store: { storage = "file", replicas = 1, max_bytes = -1, ttl_seconds = 604800 (0: none) } */
export const spoolConfigSchema = z.strictObject({
  storage,
  replicas,
  max_bytes: maxBytes,
  ttl_seconds: seconds.default(WEEK),
});

/** The KV buckets: { storage = "file", replicas = 1 } */
export const kvConfigSchema = z.strictObject({ storage, replicas });

export const jetstreamConfigSchema = z.strictObject({
  mail: streamConfigSchema.prefault({}),
  events: streamConfigSchema.prefault({}),
  spool: spoolConfigSchema.prefault({}),
  kv: kvConfigSchema.prefault({}),
});

/** Client TLS for NATS; set it (or use tls:// URLs) to require TLS. */
export const natsTlsConfigSchema = z
  .strictObject({
    ca_file: z.string().min(1).optional(),
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
  })
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
    error: "cert_file and key_file go together",
    path: ["key_file"],
  });

/** The `nats` section of the configuration file. Every field has a default, so `{}` is valid. */
export const natsConfigSchema = z
  .strictObject({
    servers: serverList.default(["nats://127.0.0.1:4222"]),
    user: z.string().min(1).optional(),
    pass: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    tls: natsTlsConfigSchema.optional(),
    reconnect_wait_ms: z.number().int().nonnegative().default(1000),
    /** -1: reconnect forever. */
    max_reconnect_attempts: z.number().int().min(-1).default(-1),
    jetstream: jetstreamConfigSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    const schemes = new Set(c.servers.map((s) => s.slice(0, s.indexOf(":")).toLowerCase()));
    if (schemes.size > 1) {
      ctx.addIssue({ code: "custom", path: ["servers"], message: "mixes nats:// and tls:// URLs; use one scheme for every server" });
    }
    if (c.pass !== undefined && c.user === undefined) {
      ctx.addIssue({ code: "custom", path: ["user"], message: "required when pass is set" });
    }
    if (c.token !== undefined && c.user !== undefined) {
      ctx.addIssue({ code: "custom", path: ["token"], message: "use either token or user/pass, not both" });
    }
  });

export type NatsConfig = z.infer<typeof natsConfigSchema>;
export type JetStreamConfig = NatsConfig["jetstream"];
export type NatsStreamConfig = z.infer<typeof streamConfigSchema>;
