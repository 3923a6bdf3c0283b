/**
 * The reply catalog: every reply the protocol engine sends, and the common
 * policy replies adapters send, in one place (RFC 5321 codes, RFC 3463
 * enhanced codes). Wording follows Postfix and Exim where they agree.
 */
import { type Reply, reply } from "./reply";

export const replies = {
  banner: (hostname: string): Reply => reply(220, undefined, `${hostname} ESMTP Postern`),
  helo: (hostname: string): Reply => reply(250, undefined, hostname),
  ok: reply(250, "2.0.0", "Ok"),
  senderOk: reply(250, "2.1.0", "Sender OK"),
  recipientOk: reply(250, "2.1.5", "Recipient OK"),
  startData: reply(354, undefined, "End data with <CR><LF>.<CR><LF>"),
  accepted: (id: string): Reply => reply(250, "2.0.0", `OK id=${id}`),
  bye: reply(221, "2.0.0", "Bye"),
  vrfyDisabled: reply(502, "5.5.1", "VRFY command is disabled"),
  cannotVrfy: reply(252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery"),
  help: reply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP", "See RFC 5321"),

  // client errors: syntax (500/501 5.5.2), sequence (503 5.5.1), parameters (501/555 5.5.4)
  unknownCommand: reply(500, "5.5.2", "Error: command not recognized"),
  notImplemented: reply(502, "5.5.1", "Error: command not implemented"),
  lineTooLong: reply(500, "5.5.2", "Error: line too long"),
  badBytes: reply(500, "5.5.2", "Error: invalid characters in command"),
  syntax: (usage: string): Reply => reply(501, "5.5.2", `Syntax: ${usage}`),
  badSender: reply(501, "5.1.7", "Bad sender address syntax"),
  badRecipient: reply(501, "5.1.3", "Bad recipient address syntax"),
  badParameter: (text: string): Reply => reply(501, "5.5.4", text),
  unknownParameter: (name: string): Reply => reply(555, "5.5.4", `Unsupported option: ${name}`),
  needHelo: reply(503, "5.5.1", "Error: send HELO/EHLO first"),
  nestedMail: reply(503, "5.5.1", "Error: nested MAIL command"),
  needMail: reply(503, "5.5.1", "Error: need MAIL command"),
  needRcpt: reply(503, "5.5.1", "Error: need RCPT command"),
  noValidRecipients: reply(554, "5.5.1", "Error: no valid recipients"),
  utf8Required: reply(553, "5.6.7", "Must declare SMTPUTF8 to send UTF-8 addresses"),
  tooManyRecipients: reply(452, "4.5.3", "Error: too many recipients"),
  sizeExceeded: reply(552, "5.3.4", "Message size exceeds fixed limit"),
  /** RFC 5321 4.5.3.1.10 "500 Line too long", for message content over maxTextLine */
  textLineTooLong: reply(500, "5.5.2", "Line too long: the message has a line over the limit (RFC 5321 4.5.3.1.6)"),
  bareNewline: reply(550, "5.6.0", "Message contains bare CR or LF; lines must end with CRLF (RFC 5321 2.3.8)"),
  tooManyErrors: reply(421, "4.7.0", "Error: too many errors, closing connection"),
  forbiddenCommand: reply(421, "4.7.0", "Error: HTTP or proxy command received, closing connection"),
  /** Exim's smtp_enforce_sync refusal (the connection is closed after it) */
  syncError: reply(554, "5.5.0", "SMTP synchronization error"),

  // CHUNKING (RFC 3030)
  chunkReceived: (size: number): Reply => reply(250, "2.0.0", `${size} octets received`),
  bdatSyntax: reply(501, "5.5.4", "Syntax: BDAT chunk-size [LAST]"),
  bdatOnly: reply(503, "5.5.1", "Error: only BDAT, RSET, NOOP or QUIT may follow BDAT"),
  binaryNeedsBdat: reply(503, "5.5.1", "Error: BODY=BINARYMIME requires BDAT"),

  // STARTTLS (RFC 3207)
  readyToStartTls: reply(220, "2.0.0", "Ready to start TLS"),
  tlsNotAvailable: reply(454, "4.7.0", "TLS not available due to temporary reason"),
  tlsRequired: reply(530, "5.7.0", "Must issue a STARTTLS command first"),
  tlsActive: reply(503, "5.5.1", "Error: TLS already active"),
  needEhlo: reply(503, "5.5.1", "Error: send EHLO first"),
  inTransaction: reply(503, "5.5.1", "Error: MAIL transaction in progress"),

  // AUTH (RFC 4954)
  authSuccessful: reply(235, "2.7.0", "Authentication successful"),
  authInvalid: reply(535, "5.7.8", "Authentication credentials invalid"),
  authTemporary: reply(454, "4.7.0", "Temporary authentication failure"),
  authCancelled: reply(501, "5.0.0", "Authentication cancelled"),
  authBadBase64: reply(501, "5.5.2", "Invalid base64 data"),
  authMalformed: reply(501, "5.5.2", "Invalid authentication response"),
  authAlready: reply(503, "5.5.1", "Error: already authenticated"),
  authInTransaction: reply(503, "5.5.1", "Error: AUTH not permitted during a mail transaction"),
  authMechanism: reply(504, "5.5.4", "Unrecognized authentication type"),
  authNeedsTls: reply(538, "5.7.11", "Encryption required for requested authentication mechanism"),
  authLineTooLong: reply(500, "5.5.6", "Authentication exchange line is too long"),

  // PRDR (draft-hall-prdr-00; Exim's wording, with enhanced codes)
  prdrStart: reply(353, undefined, "PRDR content analysis beginning"),
  prdrAccepted: (address: string): Reply => reply(250, "2.1.5", `PRDR R=<${address}> acceptance`),
  prdrDeferred: (address: string): Reply => reply(450, "4.7.1", `PRDR R=<${address}> temporary refusal`),
  prdrRejected: (address: string): Reply => reply(550, "5.7.1", `PRDR R=<${address}> refusal`),

  // adapter policy and local failures
  relayDenied: reply(550, "5.7.1", "Relaying denied"),
  /** Exim's wording, after a failed PROXY negotiation */
  proxyRefused: reply(503, "5.7.0", "Command refused, required Proxy negotiation failed"),
  tempLookupFailure: reply(451, "4.3.0", "Temporary lookup failure"),
  localError: reply(451, "4.3.0", "Local error in processing, try again later"),
  shuttingDown: (hostname: string): Reply => reply(421, "4.3.2", `${hostname} Service shutting down, closing connection`),
  timeout: (hostname: string): Reply => reply(421, "4.4.2", `${hostname} timeout`),
} as const;
