/** Errors of dane-outbound; `name` equals the class name, `code` is stable. */
export const outboundErrorCodes = {
  stateConflict: "POSTERN_OUTBOUND_STATE_CONFLICT",
  stateCorrupt: "POSTERN_OUTBOUND_STATE_CORRUPT",
  report: "POSTERN_OUTBOUND_REPORT",
  smtpSession: "POSTERN_OUTBOUND_SMTP_SESSION",
} as const;
export type OutboundErrorCode = (typeof outboundErrorCodes)[keyof typeof outboundErrorCodes];

export class OutboundError extends Error {
  readonly code: OutboundErrorCode;
  constructor(code: OutboundErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OutboundError";
    this.code = code;
  }
}

/** Another worker changed the delivery state of this message since we read it. */
export class StateConflictError extends OutboundError {
  readonly messageId: string;
  constructor(messageId: string, options?: ErrorOptions) {
    super(outboundErrorCodes.stateConflict, `delivery state of ${messageId} changed under us`, options);
    this.name = "StateConflictError";
    this.messageId = messageId;
  }
}

/** The stored delivery state does not parse; the message is left for an operator rather than delivered twice. */
export class StateCorruptError extends OutboundError {
  readonly messageId: string;
  constructor(messageId: string, detail: string, options?: ErrorOptions) {
    super(outboundErrorCodes.stateCorrupt, `delivery state of ${messageId} is unreadable: ${detail}`, options);
    this.name = "StateCorruptError";
    this.messageId = messageId;
  }
}

/** Outcomes.Record failed (delivery-events unreachable or refusing). */
export class ReportError extends OutboundError {
  readonly eventName: string;
  constructor(eventName: string, detail: string, options?: ErrorOptions) {
    super(outboundErrorCodes.report, `cannot record ${eventName}: ${detail}`, options);
    this.name = "ReportError";
    this.eventName = eventName;
  }
}

/**
 * An SMTP/LMTP session could not go on (connect failure, time-out, connection
 * closed, garbled reply). `errno` follows Exim: positive system errno values
 * (ECONNREFUSED 111, ETIMEDOUT 110) or Exim's negative ERRNO_* values.
 */
export class SmtpSessionError extends OutboundError {
  readonly errno: number;
  constructor(errno: number, message: string, options?: ErrorOptions) {
    super(outboundErrorCodes.smtpSession, message, options);
    this.name = "SmtpSessionError";
    this.errno = errno;
  }
}

/** The JetStream API error code (10014 consumer not found, 10071 wrong last sequence ...) of err or its causes. */
export function jetStreamApiCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number") return code;
  }
  return undefined;
}
