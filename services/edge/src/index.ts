/**
 * edge: the SMTP server the internet talks to. Protocol logic lives in
 * @postern/smtp; this package adapts it to sockets (Exim's synchronisation
 * check, banner delay, STARTTLS with certificates by SNI reloaded without a
 * restart, AUTH on submission listeners), the recipient policy
 * (@postern/hostlist lists with Redis lookups), the per-recipient data policy
 * (PRDR), durable acceptance (spool + JetStream MAIL, PubAck before 250) and
 * the EdgeCallback gRPC server.
 *
 * STANDARDS: RFC 5321, RFC 2920, RFC 1870, RFC 6152, RFC 6531, RFC 3463,
 * RFC 3461 (parameters carried into the MAIL record), RFC 5321 4.4 Received,
 * RFC 3207 (STARTTLS), RFC 4954 and RFC 4616 (AUTH PLAIN, LOGIN), RFC 6409
 * (submission), RFC 3848 (protocol names), RFC 7914 (scrypt password
 * hashes), draft-hall-prdr-00 (PRDR).
 *
 * SECURITY: no open relay: a recipient is accepted only for local_domains,
 * relay_to_domains, from relay_from_hosts, or from an authenticated client;
 * a lookup failure is 451, never acceptance. AUTH only after TLS, only on
 * submission_listen; passwords never logged; failures counted toward
 * smtp_max_errors. TLS 1.2 minimum; plaintext after STARTTLS is discarded.
 * No 250 before the MAIL record is stored. Input limits and SMTP smuggling
 * checks are in @postern/smtp. Sender-specified routing (%, !, quoted @)
 * from untrusted clients is refused even for local domains. Per connection:
 * a command deadline and a data idle timeout (421 4.4.2), replies capped at
 * the engine's maxOutputBuffer with socket back-pressure; per process:
 * smtp_accept_max and smtp_accept_max_per_host (421 4.3.2, per client
 * address after PROXY).
 *
 * DIAGNOSTICS: log events and metrics are listed in ./diagnostics.ts; one
 * Exim-style "<= sender H=helo [ip] P=esmtps X=cipher A=user S=size id=..."
 * line per message; events msg:received and auth:fail (JetStream, PubAck
 * awaited off the session's path) and tcp:connect, smtp:connect, smtp:ehlo,
 * tcp:close (core publishes, see events.ts for why).
 */
export { configSchema, edgeSectionSchema, type EdgeConfig, type EdgeSection } from "./config";
export { startEdge } from "./service";
export { newMessageId } from "./message-id";
export { hashPassword, verifyPassword, parsePasswordHash } from "./passwords";
