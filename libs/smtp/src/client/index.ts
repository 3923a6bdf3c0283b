/**
 * Outbound SMTP/LMTP client protocol logic, pure: bytes in, typed values out,
 * no sockets. The socket adapter lives in the service that delivers
 * (services/dane-outbound/src/smtp-transport.ts).
 *
 * - ReplyParser: incremental reply parser (multi-line, code consistency,
 *   enhanced status codes, line length and line count caps).
 * - parseEhlo: EHLO/LHLO keywords (PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
 *   ENHANCEDSTATUSCODES, CHUNKING, BINARYMIME, DSN, PRDR, STARTTLS, AUTH).
 * - DataEncoder: dot-stuffing for DATA across chunk boundaries, CRLF line ends
 *   and the final CRLF.CRLF guaranteed.
 * - formatMailFrom / formatRcptTo / formatHello / formatCommand / formatBdat.
 *
 * STANDARDS: RFC 5321 (replies 4.2, dot-stuffing 4.5.2, limits 4.5.3), RFC 2033
 * (LMTP), RFC 3463 + RFC 2034 (enhanced status codes), RFC 2920 (PIPELINING),
 * RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 3030
 * (CHUNKING), RFC 3461 (DSN parameters, xtext).
 *
 * SECURITY: server replies are untrusted: line length and line count are
 * capped, malformed input is an error, text is never interpreted. Formatters
 * refuse CR, LF and other controls in addresses and arguments, so envelope
 * data cannot inject commands.
 *
 * DIAGNOSTICS: named errors from ./errors with stable codes
 * (POSTERN_SMTP_REPLY_*, POSTERN_SMTP_BAD_*); offending lines are escaped.
 */
export {
  SmtpClientError,
  SmtpReplySyntaxError,
  SmtpReplyLineTooLongError,
  SmtpReplyTooManyLinesError,
  SmtpReplyCodeMismatchError,
  SmtpAddressError,
  SmtpArgumentError,
  smtpClientErrorCodes,
  type SmtpClientErrorCode,
} from "./errors";
export {
  ReplyParser,
  ReplyKind,
  replyKind,
  formatReply,
  formatReplyLine,
  parseEnhancedStatus,
  escapeLine,
  type SmtpReply,
  type ReplyParserOptions,
} from "./reply";
export { parseEhlo, heloCapabilities, type EhloCapabilities } from "./ehlo";
export { DataEncoder, encodeData, hasEightBit } from "./data-encoder";
export {
  BodyType,
  encodeXtext,
  formatMailFrom,
  formatRcptTo,
  formatHello,
  formatCommand,
  formatBdat,
  splitAddress,
  type MailFromParams,
  type RcptToParams,
} from "./commands";
