/**
 * @postern/smtp: the SMTP protocol as pure logic, no sockets. The server side
 * is a pull parser (SmtpServerSession): bytes in, typed events and formatted
 * replies out; the adapter decides MAIL, RCPT, DATA/BDAT, end of data (per
 * recipient with PRDR), STARTTLS and AUTH credentials.
 *
 * STANDARDS: RFC 5321 (SMTP), RFC 1870 (SIZE), RFC 2920 (PIPELINING),
 * RFC 3030 (CHUNKING, BINARYMIME), RFC 3207 (STARTTLS), RFC 3461 (DSN
 * parameters), RFC 3463 and RFC 2034 (enhanced status codes), RFC 4954 (AUTH;
 * RFC 4616 PLAIN and LOGIN), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8),
 * draft-hall-prdr-00 (PRDR, as Exim implements it), RFC 5322 (Received,
 * date-time); Exim's SMTP synchronisation check (smtp_enforce_sync).
 *
 * SECURITY: every byte from the client is hostile. Command lines are length
 * capped (AUTH lines at 12288 octets) without buffering the excess; control
 * characters and invalid UTF-8 are refused; only CRLF.CRLF ends DATA and bare
 * CR/LF in a DATA body make the message rejected (SMTP smuggling); BDAT
 * chunks are counted exactly and always consumed, even when refused; body
 * output stops at the size limit; plaintext pipelined after STARTTLS is
 * discarded (CVE-2011-0411); clients that talk before the banner or pipeline
 * without PIPELINING get 554 and are dropped; failed AUTH counts toward the
 * error limit; reply text is restricted to printable ASCII. Memory per
 * connection is bounded in every state (see session.ts). See also data.ts,
 * bdat.ts, auth.ts, sync.ts, address.ts.
 *
 * DIAGNOSTICS: nothing is logged here. Protocol errors are "error" events with
 * a kind, the reply sent and the offending line escaped for logs (AUTH data is
 * never included); rejected messages are "dataRejected" events with a reason;
 * tlsStarted() reports discarded plaintext. API misuse throws SmtpStateError,
 * bad options SmtpOptionsError (errors.ts).
 */
export { SmtpServerSession } from "./session";
export { resolveOptions } from "./options";
export {
  ProtocolErrorKind,
  type AuthIdentity,
  type AuthMechanism,
  type BdatCommand,
  type ContentVia,
  type ExtensionOptions,
  type FeedOptions,
  type HeloCommand,
  type MailCommand,
  type MessageRejectReason,
  type PendingType,
  type RcptCommand,
  type ResolvedOptions,
  type SessionOptions,
  type SimpleCommand,
  type SmtpCommand,
  type SmtpEvent,
  type TlsStartResult,
  type Transaction,
} from "./types";
export { authOffered, commandTable, ehloLines, isForbiddenVerb, notImplementedVerbs, type CommandSpec } from "./commands";
export { BdatBody, parseBdatArgs, type BdatArgs } from "./bdat";
export { decodeBase64, SaslExchange, type SaslCredentials, type SaslStep } from "./auth";
export { checkPrdrReplies, formatPrdrResponse, prdrFinalReply } from "./prdr";
export { DataDecoder, type DataInfo, type DataWriteResult } from "./data";
export { parsePath, scanDomain, type Mailbox, type PathOptions, type PathResult } from "./address";
export {
  decodeXtext,
  parseMailParams,
  parseRcptParams,
  type MailBodyType,
  type DsnRet,
  type MailParams,
  type NotifyValue,
  type ParamContext,
  type RcptParams,
} from "./params";
export { formatServerReply, isPositive, reply, sanitizeText, type Reply } from "./reply";
export { replies } from "./replies";
export { RefusingSession, type RefusingOutput, type RefusingSessionOptions } from "./refusing-session";
export { addressLiteral, formatReceived, formatRfc5322Date, type ReceivedInfo } from "./received";
export { escapeBytes } from "./escape";
export { SmtpError, SmtpOptionsError, SmtpStateError, smtpErrorCodes, type SmtpErrorCode } from "./errors";

// the outbound client (libs/smtp/src/client)
export * from "./client/index";
