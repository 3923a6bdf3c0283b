/**
 * edge: the SMTP server the internet talks to. Protocol logic lives in
 * @postern/smtp; this package adapts it to sockets, the recipient policy
 * (static lists, relay hosts, Redis), durable acceptance (spool + JetStream
 * MAIL, PubAck before 250) and the EdgeCallback gRPC server.
 *
 * STANDARDS: RFC 5321, RFC 2920, RFC 1870, RFC 6152, RFC 6531, RFC 3463,
 * RFC 3461 (parameters carried into the MAIL record), RFC 5321 4.4 Received.
 *
 * SECURITY: no open relay: a recipient is accepted only for local_domains,
 * relay_to_domains, the Redis set of local domains, or from relay_from_hosts;
 * a lookup failure is 451, never acceptance. No 250 before the MAIL record is
 * stored. Input limits and SMTP smuggling checks are in @postern/smtp.
 *
 * DIAGNOSTICS: log events and metrics are listed in ./diagnostics.ts; one
 * Exim-style "<= sender H=helo [ip] P=esmtp S=size id=..." line per message.
 */
export { configSchema, edgeSectionSchema, type EdgeConfig, type EdgeSection } from "./config";
export { startEdge } from "./service";
export { newMessageId } from "./message-id";
