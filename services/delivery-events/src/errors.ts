/**
 * delivery-events' error classes. Each has `name` equal to its class name and
 * a stable `code`; codes may cross gRPC (as status details), classes do not.
 */

export const eventsErrorCodes = {
  durableFilterMismatch: "POSTERN_EVENTS_DURABLE_FILTER_MISMATCH",
  webhookDenied: "POSTERN_EVENTS_WEBHOOK_DENIED",
} as const;

/** A durable subscription was resumed with filters other than those it was created with (gRPC FAILED_PRECONDITION). */
export class DurableFilterMismatch extends Error {
  readonly code = eventsErrorCodes.durableFilterMismatch;
  constructor(readonly durableName: string) {
    super(`durable subscription ${JSON.stringify(durableName)} was created with other filters; resume it without filters or with the same ones, or use another name`);
    this.name = "DurableFilterMismatch";
  }
}

/** A webhook host resolved to an address the operator has not allowed (webhook_allow_hosts). */
export class WebhookDeniedError extends Error {
  readonly code = eventsErrorCodes.webhookDenied;
  constructor(
    message: string,
    readonly host: string,
  ) {
    super(message);
    this.name = "WebhookDeniedError";
  }
}
