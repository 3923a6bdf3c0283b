/**
 * @postern/smtp: the SMTP protocol as pure logic, no sockets. The server side
 * is a pull parser (SmtpServerSession): bytes in, typed events and formatted
 * replies out; the adapter decides MAIL, RCPT, DATA and end of data.
 *
 * STANDARDS: RFC 5321 (SMTP), RFC 2920 (PIPELINING), RFC 1870 (SIZE),
 * RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 2034 and RFC 3463 (enhanced
 * status codes), RFC 3461 (DSN parameters), RFC 5322 (Received, date-time).
 *
 * SECURITY: every byte from the client is hostile. Command lines are length
 * capped without buffering the excess; control characters and invalid UTF-8 are
 * refused; only CRLF.CRLF ends DATA and bare CR/LF in a body make the message
 * rejected (SMTP smuggling); body output stops at the size limit; reply text is
 * restricted to printable ASCII. See session.ts, data.ts, address.ts.
 *
 * DIAGNOSTICS: nothing is logged here. Protocol errors are "error" events with
 * a kind, the reply sent and the offending line escaped for logs; rejected
 * messages are "dataRejected" events with a reason. API misuse throws
 * SmtpStateError, bad options SmtpOptionsError (errors.ts).
 */
export { SmtpServerSession, resolveOptions } from "./session";
export {
  ProtocolErrorKind,
  type ExtensionOptions,
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
  type Transaction,
} from "./types";
export { commandTable, ehloLines, isForbiddenVerb, notImplementedVerbs, type CommandSpec } from "./commands";
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
