/**
 * Errors thrown by @postern/smtp. Protocol errors made by the SMTP client are
 * not thrown: they are events carrying the reply to send. These classes are
 * for misuse of the API (bugs in the caller) and invalid options.
 */

export const smtpErrorCodes = {
  state: "POSTERN_SMTP_STATE",
  options: "POSTERN_SMTP_OPTIONS",
} as const;
export type SmtpErrorCode = (typeof smtpErrorCodes)[keyof typeof smtpErrorCodes];

export class SmtpError extends Error {
  readonly code: SmtpErrorCode;
  constructor(code: SmtpErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SmtpError";
    this.code = code;
  }
}

/** The session was driven out of order, e.g. respond() with no decision pending. */
export class SmtpStateError extends SmtpError {
  readonly awaiting: string | null;
  constructor(message: string, awaiting: string | null, options?: ErrorOptions) {
    super(smtpErrorCodes.state, message, options);
    this.name = "SmtpStateError";
    this.awaiting = awaiting;
  }
}

/** Session options out of range. */
export class SmtpOptionsError extends SmtpError {
  readonly option: string;
  constructor(option: string, message: string, options?: ErrorOptions) {
    super(smtpErrorCodes.options, `${option}: ${message}`, options);
    this.name = "SmtpOptionsError";
    this.option = option;
  }
}
