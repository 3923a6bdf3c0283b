import { hostname } from "node:os";
import { natsConfigSchema } from "@postern/bus";
import {
  grpcServerConfigSchema,
  hostPortSchema,
  httpConfigSchema,
  logConfigSchema,
  stringListOf,
} from "@postern/service-kit";
import { z } from "zod";
import { parseHostSpec } from "./hosts";

const domainList = stringListOf(z.string().min(1).transform((d) => d.toLowerCase()));
const hostSpec = z.string().refine((v) => parseHostSpec(v) !== null, { message: "expected an IP address or CIDR" });
const redisUrl = z.string().regex(/^rediss?:\/\//, { message: "expected a redis:// or rediss:// URL" });

/** The `edge` section. Option names follow Exim where Exim has one. */
export const edgeSectionSchema = z
  .strictObject({
    http: httpConfigSchema.prefault({}),
    grpc: grpcServerConfigSchema.prefault({}),
    /** SMTP listeners, "host:port" */
    smtp_listen: stringListOf(hostPortSchema, { min: 1 }).default(["127.0.0.1:2525"]),
    /** our name in the banner, EHLO reply and Received headers */
    hostname: z
      .string()
      .regex(/^[\x21-\x7e]+$/, { message: "expected a host name without spaces" })
      .default(() => hostname()),
    /** octets; advertised as SIZE and enforced (552 5.3.4) */
    message_size_limit: z.number().int().positive().default(52_428_800),
    /** RCPT commands per message beyond this get 452 4.5.3 */
    recipients_max: z.number().int().positive().default(100),
    /** domains we deliver for (case-insensitive) */
    local_domains: domainList.default(["localhost"]),
    /** domains we relay to for anyone */
    relay_to_domains: domainList.default([]),
    /** clients that may relay anywhere: IPs and CIDRs */
    relay_from_hosts: stringListOf(hostSpec).default(["127.0.0.1", "::1"]),
    /** bodies up to this size travel inside the MAIL record; larger ones go to the spool object store */
    spool_inline_max: z.number().int().min(0).default(65_536),
    /** idle time before 421 4.4.2 and close */
    smtp_timeout_ms: z.number().int().positive().default(300_000),
    /** at shutdown, how long sessions in a transaction may take to finish before 421 */
    smtp_shutdown_grace_ms: z.number().int().positive().default(10_000),
    /** PubAck wait for a MAIL record before 451 */
    publish_timeout_ms: z.number().int().positive().default(5_000),
    /** refused commands before 421 and close */
    smtp_max_errors: z.number().int().positive().default(20),
    /** Redis servers tried in order, e.g. ["redis://127.0.0.1:6379/0"] */
    redis_servers: stringListOf(redisUrl, { min: 1 }).optional(),
    /** a Redis set of extra local domains (SISMEMBER key domain), e.g. "postern:local_domains" */
    local_domains_redis_set: z.string().min(1).optional(),
    /** peers (load balancers) that must send a PROXY v1/v2 header; nobody else's is parsed. Exim: hosts_proxy */
    hosts_proxy: stringListOf(hostSpec).default([]),
    /** seconds a peer in hosts_proxy has to send its whole header */
    proxy_timeout: z.number().positive().max(300).default(3),
    /** after a failed negotiation: "refuse" sends the banner and 503 to every command but QUIT (Exim), "drop" closes */
    proxy_failure_action: z.enum(["refuse", "drop"]).default("refuse"),
    /** largest PROXY header accepted (v2 with TLVs); v1 lines stay capped at 107 bytes */
    proxy_max_header_bytes: z.number().int().min(232).max(65_551).default(4096),
  })
  .refine((e) => e.local_domains_redis_set === undefined || e.redis_servers !== undefined, {
    message: "needs redis_servers",
    path: ["local_domains_redis_set"],
  });
export type EdgeSection = z.infer<typeof edgeSectionSchema>;

/** Exim's former name proxy_required_hosts is accepted for hosts_proxy; giving both is an error. */
function renameAliases(section: unknown): unknown {
  if (typeof section !== "object" || section === null || !("proxy_required_hosts" in section)) return section;
  const { proxy_required_hosts: alias, ...rest } = section as Record<string, unknown>;
  return "hosts_proxy" in rest ? { ...rest, proxy_required_hosts: alias } : { ...rest, hosts_proxy: alias };
}

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  edge: z.preprocess(renameAliases, edgeSectionSchema).prefault({}),
});
export type EdgeConfig = z.infer<typeof configSchema>;
