/**
 * Errors of the outbound SMTP/LMTP client protocol code. Each class has `name`
 * equal to its class name and a stable `code` (codes cross NATS and gRPC,
 * classes do not).
 */
export const smtpClientErrorCodes = {
  replySyntax: "POSTERN_SMTP_REPLY_SYNTAX",
  replyLineTooLong: "POSTERN_SMTP_REPLY_LINE_TOO_LONG",
  replyTooManyLines: "POSTERN_SMTP_REPLY_TOO_MANY_LINES",
  replyCodeMismatch: "POSTERN_SMTP_REPLY_CODE_MISMATCH",
  badAddress: "POSTERN_SMTP_BAD_ADDRESS",
  badArgument: "POSTERN_SMTP_BAD_ARGUMENT",
} as const;
export type SmtpClientErrorCode = (typeof smtpClientErrorCodes)[keyof typeof smtpClientErrorCodes];

export class SmtpClientError extends Error {
  readonly code: SmtpClientErrorCode;
  constructor(code: SmtpClientErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SmtpClientError";
    this.code = code;
  }
}

/** A reply line that is not `NNN`, `NNN text` or `NNN-text`. `line` is escaped for logging. */
export class SmtpReplySyntaxError extends SmtpClientError {
  readonly line: string;
  constructor(line: string, options?: ErrorOptions) {
    super(smtpClientErrorCodes.replySyntax, `malformed SMTP reply line: "${line}"`, options);
    this.name = "SmtpReplySyntaxError";
    this.line = line;
  }
}

/** A reply line longer than the parser's cap (bytes, without the line end). */
export class SmtpReplyLineTooLongError extends SmtpClientError {
  readonly limit: number;
  constructor(limit: number, options?: ErrorOptions) {
    super(smtpClientErrorCodes.replyLineTooLong, `SMTP reply line longer than ${limit} bytes`, options);
    this.name = "SmtpReplyLineTooLongError";
    this.limit = limit;
  }
}

/** A multi-line reply with more lines than the parser's cap. */
export class SmtpReplyTooManyLinesError extends SmtpClientError {
  readonly limit: number;
  constructor(limit: number, options?: ErrorOptions) {
    super(smtpClientErrorCodes.replyTooManyLines, `SMTP reply with more than ${limit} lines`, options);
    this.name = "SmtpReplyTooManyLinesError";
    this.limit = limit;
  }
}

/** A continuation line whose code differs from the first line's (RFC 5321 section 4.2.1). */
export class SmtpReplyCodeMismatchError extends SmtpClientError {
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, options?: ErrorOptions) {
    super(smtpClientErrorCodes.replyCodeMismatch, `SMTP reply code changed from ${expected} to ${actual} within one reply`, options);
    this.name = "SmtpReplyCodeMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/** An envelope address that cannot be sent safely (line breaks, controls, brackets, or UTF-8 without SMTPUTF8). */
export class SmtpAddressError extends SmtpClientError {
  readonly address: string;
  constructor(address: string, reason: string, options?: ErrorOptions) {
    super(smtpClientErrorCodes.badAddress, `unusable envelope address ${JSON.stringify(address)}: ${reason}`, options);
    this.name = "SmtpAddressError";
    this.address = address;
  }
}

/** A command argument (host name, parameter value) that would break the command line. */
export class SmtpArgumentError extends SmtpClientError {
  readonly argument: string;
  constructor(argument: string, reason: string, options?: ErrorOptions) {
    super(smtpClientErrorCodes.badArgument, `unusable SMTP argument ${JSON.stringify(argument)}: ${reason}`, options);
    this.name = "SmtpArgumentError";
    this.argument = argument;
  }
}
