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
import { domainListSchema, hostListSchema, ListKind, listUsesLookups, redisServersSchema } from "@postern/hostlist";
import { parseSpfCondition } from "./spf-policy";
import { dmarcGateSchema } from "./dmarc-gate";

/** An Exim-style SPF result list: "fail", "!pass : none", with the aliases err_perm/err_temp. */
const spfCondition = z.union([z.string(), z.array(z.string())]).superRefine((v, ctx) => {
  const c = parseSpfCondition(v);
  if ("error" in c) ctx.addIssue({ code: "custom", message: c.error });
});
const pemFile = z.string().min(1);
const certificatePair = z.strictObject({ certificate: pemFile, privatekey: pemFile });

/** The `edge` section. Option names follow Exim where Exim has one. */
export const edgeSectionSchema = z
  .strictObject({
    http: httpConfigSchema.prefault({}),
    grpc: grpcServerConfigSchema.prefault({}),
    /**
     * SMTP processes sharing the listeners (node:cluster, cluster.ts): 1 runs the edge in this process; N > 1 or "auto"
     * (one per core) runs a supervising primary and N workers, each a full edge with its own NATS connection. The
     * primary serves http.port (/healthz; /readyz when every worker is ready); worker i (0-based) serves http.port + 1 + i
     * and the EdgeCallback gRPC server on grpc.listen's port + i (grpc.advertise's port + i when set), so every verdict
     * reaches the worker that asked. Port 0: the primary picks a free port per worker. Limits such as smtp_accept_max
     * and smtp_accept_max_per_host count per worker
     */
    workers: z.union([z.number().int().min(1).max(64), z.literal("auto")]).default(1),
    /** SMTP listeners, "host:port" */
    smtp_listen: stringListOf(hostPortSchema, { min: 1 }).default(["127.0.0.1:2525"]),
    /**
     * Submission listeners (RFC 6409), "host:port", e.g. 127.0.0.1:5587: STARTTLS first (530 before it), then AUTH
     * PLAIN or LOGIN; MAIL needs AUTH; authenticated clients may relay. Needs tls_certificate and a credential source
     */
    submission_listen: stringListOf(hostPortSchema).default([]),
    /** file of "user:$scrypt$N$r$p$salt$hash" lines (see passwords.ts); re-read when it changes */
    auth_passwords_file: z.string().min(1).optional(),
    /** Redis hash of user → the same hash format (HGET key user), asked when the user is not in auth_passwords_file */
    auth_redis_hash: z.string().min(1).optional(),
    /** our name in the banner, EHLO reply and Received headers */
    hostname: z
      .string()
      .regex(/^[\x21-\x7e]+$/, { message: "expected a host name without spaces" })
      .default(() => hostname()),
    /** octets; advertised as SIZE and enforced (552 5.3.4) */
    message_size_limit: z.number().int().positive().default(52_428_800),
    /**
     * octets per line of message content (CRLF not counted): a message with a longer line gets 500 5.5.2 at its end
     * (RFC 5321 4.5.3.1.6: 998 is the standard's limit; Exim's message_linelength_limit). 0: no limit (the default)
     */
    message_linelength_limit: z.number().int().refine((n) => n === 0 || n >= 998, { message: "expected 0 or at least 998" }).default(0),
    /** RCPT commands per message beyond this get 452 4.5.3 */
    recipients_max: z.number().int().positive().default(100),
    /**
     * Exim domain list (@postern/hostlist): domains we deliver for, e.g. "@ : example.com : *.example.net :
     * redis;SISMEMBER local_domains $domain". Recipient policy tries local_domains, relay_to_domains, then
     * relay_from_hosts; the first match accepts; a lookup that fails and nothing matching after it: 451 4.3.0
     */
    local_domains: domainListSchema().default(["localhost"]),
    /** Exim domain list: domains we relay to for anyone */
    relay_to_domains: domainListSchema().default([]),
    /** Exim host list: clients that may relay anywhere, e.g. "127.0.0.1 : 10.0.0.0/8 : redis;SMEMBERS relay_from_ips" */
    relay_from_hosts: hostListSchema().default(["127.0.0.1", "::1"]),
    /**
     * Postfix's allow_untrusted_routing: accept local parts with "%", "!" or a quoted "@" (sender-specified routing) from
     * clients outside relay_from_hosts that did not authenticate. Default false: 550 5.7.1 as a relay attempt, even for a
     * local domain
     */
    allow_untrusted_routing: z.boolean().default(false),
    /**
     * bodies up to this size travel inside the MAIL record; larger ones go to the spool object store.
     * 256 KiB (docs/adr/0010): a spooled body costs an object-store write and a consumer per read.
     * A record that would not fit the server's max_payload is spooled whatever its size.
     */
    spool_inline_max: z.number().int().min(0).default(262_144),
    /** idle time before 421 4.4.2 and close; the default of the two timeouts below (and of the PROXY-refusal session) */
    smtp_timeout_ms: z.number().int().positive().default(300_000),
    /**
     * Exim's smtp_receive_timeout for commands: the time a client has for each complete command line (and the TLS
     * handshake after STARTTLS), from the moment the edge waits for it. A deadline, not an idle time: a client trickling
     * one byte a minute does not extend it. 421 4.4.2 and close on expiry. Default smtp_timeout_ms
     */
    smtp_command_timeout_ms: z.number().int().positive().optional(),
    /** the same for message content (DATA, BDAT chunks): the longest silence between two reads. Default smtp_timeout_ms */
    smtp_data_timeout_ms: z.number().int().positive().optional(),
    /** Exim's smtp_accept_max: SMTP connections open at once over all listeners of this process; more get 421 4.3.2. 0: no limit */
    smtp_accept_max: z.number().int().min(0).default(1000),
    /** Exim's smtp_accept_max_per_host: connections at once from one client IP (the PROXY header's source); 0: no limit */
    smtp_accept_max_per_host: z.number().int().min(0).default(0),
    /**
     * publish tcp:connect, smtp:connect, smtp:ehlo and tcp:close events (core NATS publishes into stream EVENTS: not
     * awaited, lost while NATS is unreachable; msg:received and auth:fail are JetStream publishes)
     */
    connection_events: z.boolean().default(true),
    /** at shutdown, how long sessions in a transaction may take to finish before 421 */
    smtp_shutdown_grace_ms: z.number().int().positive().default(10_000),
    /** PubAck wait for a MAIL record before 451 */
    publish_timeout_ms: z.number().int().positive().default(5_000),
    /** Exim's smtp_enforce_sync: input before the banner, or pipelined without PIPELINING, gets 554 5.5.0 and close */
    smtp_enforce_sync: z.boolean().default(true),
    /** hold the banner back this long (input sent meanwhile is a synchronisation error); 0 sends it at once */
    smtp_banner_delay_ms: z.number().int().min(0).max(60_000).default(0),
    /** refused commands before 421 and close */
    smtp_max_errors: z.number().int().positive().default(20),
    /** Redis servers tried in order, Exim syntax "host[:port]/db/password" or redis:// URLs, e.g. "127.0.0.1//" */
    redis_servers: redisServersSchema().optional(),
    /** how long a list lookup's answer is cached (0: no cache) */
    lookup_cache_ttl_ms: z.number().int().min(0).max(300_000).default(5_000),
    /** deprecated: appends "redis;SISMEMBER <key> $domain" to local_domains */
    local_domains_redis_set: z.string().regex(/^[^\s$]+$/, { message: "expected a Redis key without spaces or $" }).optional(),
    /**
     * Peers (load balancers) that must send a PROXY v1/v2 header; nobody else's is parsed. Exim: hosts_proxy
     * (proxy_required_hosts is accepted as an alias). Policy, limits and logs see the client the header names;
     * a LOCAL or UNKNOWN header keeps the proxy's own address, so never list a proxy in relay_from_hosts.
     */
    hosts_proxy: hostListSchema({ lookups: false }).default([]),
    /** seconds a peer in hosts_proxy has to send its whole header */
    proxy_timeout: z.number().positive().max(300).default(3),
    /** after a failed negotiation: "refuse" sends the banner and 503 to every command but QUIT (Exim), "drop" closes */
    proxy_failure_action: z.enum(["refuse", "drop"]).default("refuse"),
    /** largest PROXY header accepted (v2 with TLVs); v1 lines stay capped at 107 bytes */
    proxy_max_header_bytes: z.number().int().min(232).max(65_551).default(4096),
    /** PEM certificate (chain) for STARTTLS; STARTTLS is advertised only when it is set. Re-read when the file changes */
    tls_certificate: pemFile.optional(),
    /** PEM private key for tls_certificate */
    tls_privatekey: pemFile.optional(),
    /** certificates by SNI server name: { "mx.example.org": { certificate, privatekey } }; others get tls_certificate */
    tls_sni: z.record(z.string().min(1), certificatePair).default({}),
    /**
     * Exim's tls_ocsp_file: a DER OCSP response for tls_certificate, stapled when a client asks; re-read when the file
     * changes (checked per connection), served only when it verifies against tls_certificate's chain (the PEM file must
     * hold the issuer after the leaf) and its nextUpdate is in the future. A newer staple from ocsp-refresher wins
     */
    tls_ocsp_file: z.string().min(1).optional(),
    /** how often the served certificate chains are re-announced on postern.v1.ocsp.watch (also at start and reload) */
    ocsp_announce_interval_ms: z.number().int().min(1_000).max(3_600_000).default(900_000),
    /** advertise PRDR (per-recipient data responses) in EHLO and accept MAIL ... PRDR */
    prdr_enable: z.boolean().default(true),
    /** per-recipient data policy (see recipient-data.ts): addresses rejected after the data with PRDR, at RCPT without */
    prdr_reject_recipients: stringListOf(z.string().min(3).regex(/@/, { message: "expected an address" })).default([]),
    /** the same, deferred (450) */
    prdr_defer_recipients: stringListOf(z.string().min(3).regex(/@/, { message: "expected an address" })).default([]),
    /** publish spf.check at MAIL FROM and act on the verdict (clients in relay_from_hosts are exempt) */
    spf_enable: z.boolean().default(true),
    /** where the verdict is awaited: at each RCPT, or once at end of DATA */
    spf_check_at: z.enum(["rcpt", "data"]).default("rcpt"),
    /** a verdict later than this counts as temperror */
    spf_timeout_ms: z.number().int().positive().default(5_000),
    /** results answered 550 5.7.23 */
    spf_reject: spfCondition.default("fail"),
    /** results answered 451 4.7.24 */
    spf_defer: spfCondition.default("temperror"),
    /** DMARC at end of DATA (dmarc-gate.ts): enable, timeout_ms, reject_action, temperror_action, mailing_lists ... */
    dmarc: dmarcGateSchema.prefault({}),
  })
  .refine((e) => (e.tls_certificate === undefined) === (e.tls_privatekey === undefined), {
    message: "tls_certificate and tls_privatekey go together",
    path: ["tls_privatekey"],
  })
  .refine((e) => Object.keys(e.tls_sni).length === 0 || e.tls_certificate !== undefined, {
    message: "needs tls_certificate (the default for other names)",
    path: ["tls_sni"],
  })
  .refine((e) => e.tls_ocsp_file === undefined || e.tls_certificate !== undefined, {
    message: "needs tls_certificate",
    path: ["tls_ocsp_file"],
  })
  .refine((e) => e.submission_listen.length === 0 || e.tls_certificate !== undefined, {
    message: "needs tls_certificate (AUTH is offered only after STARTTLS)",
    path: ["submission_listen"],
  })
  .refine((e) => e.submission_listen.length === 0 || e.auth_passwords_file !== undefined || e.auth_redis_hash !== undefined, {
    message: "needs auth_passwords_file or auth_redis_hash",
    path: ["submission_listen"],
  })
  .refine((e) => e.auth_redis_hash === undefined || e.redis_servers !== undefined, {
    message: "needs redis_servers",
    path: ["auth_redis_hash"],
  })
  .refine(
    (e) =>
      e.redis_servers !== undefined ||
      !(listUsesLookups(e.local_domains, ListKind.Domain) || listUsesLookups(e.relay_to_domains, ListKind.Domain) || listUsesLookups(e.relay_from_hosts, ListKind.Host)),
    { message: "a list has redis lookups: needs redis_servers", path: ["redis_servers"] },
  )
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
