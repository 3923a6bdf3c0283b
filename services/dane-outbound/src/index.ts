/**
 * @postern/dane-outbound — turns the MAIL queue into deliveries.
 *
 * Pulls MailRecords from the durable consumer `outbound` on JetStream MAIL,
 * groups pending recipients by domain, routes each domain statically
 * (maildir:, smtp:, lmtp:), delivers, records every outcome with
 * Outcomes.Record on delivery-events, and acks a record only when every
 * recipient has a final outcome recorded; deferrals are retried with
 * nak(delay). Per-recipient progress lives in KV delivery-state
 * (docs/adr/0002-outbound-delivery-state.md).
 *
 * STANDARDS: RFC 5321 client, RFC 2033 LMTP client, Maildir (qmail maildir(5)).
 *
 * SECURITY: MailRecords are untrusted bytes (decode errors terminate the
 * record); maildir local parts are checked so a mailbox never leaves its
 * directory; envelope addresses with controls never reach the SMTP stream.
 *
 * DIAGNOSTICS: Exim-style delivery lines (=>, ==, **) and the other log
 * records listed in ./diagnostics.ts; metrics postern_outbound_*.
 */
export { configSchema, type Config, type DaneOutboundConfig } from "./config";
export { startDaneOutbound } from "./service";
export { actOnMessage, formatDetails, formatQueueEntry, listQueue, type QueueAction, type QueueEntry } from "./queue-admin";
