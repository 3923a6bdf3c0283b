/** Named errors of @postern/bus. Codes are stable and cross process boundaries; classes don't. */

export const busErrorCodes = {
  decode: "POSTERN_BUS_DECODE",
  connect: "POSTERN_BUS_CONNECT",
  topology: "POSTERN_BUS_TOPOLOGY",
  publish: "POSTERN_BUS_PUBLISH",
  invalidEvent: "POSTERN_BUS_INVALID_EVENT",
} as const;
export type BusErrorCode = (typeof busErrorCodes)[keyof typeof busErrorCodes];

/** Base class of every error this package throws; `code` is one of busErrorCodes. */
export class BusError extends Error {
  override readonly name: string = "BusError";
  readonly code: BusErrorCode;

  constructor(code: BusErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Bytes that are not a valid encoding of the expected message. `subject` is where they came from, when known. */
export class DecodeError extends BusError {
  override readonly name = "DecodeError";
  declare readonly code: typeof busErrorCodes.decode;
  /** The message type that was expected ("MailRecord"). */
  readonly type: string;
  readonly subject: string | undefined;
  readonly byteLength: number;

  constructor(type: string, byteLength: number, subject?: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(
      busErrorCodes.decode,
      `cannot decode ${type} (${byteLength} bytes)${subject === undefined ? "" : ` from ${subject}`}${reason}`,
      options,
    );
    this.type = type;
    this.subject = subject;
    this.byteLength = byteLength;
  }
}

/** Could not connect to NATS, or JetStream is not enabled there. `servers` has credentials removed. */
export class ConnectError extends BusError {
  override readonly name = "ConnectError";
  declare readonly code: typeof busErrorCodes.connect;
  readonly servers: string[];

  constructor(message: string, servers: string[], options?: ErrorOptions) {
    super(busErrorCodes.connect, message, options);
    this.servers = servers;
  }
}

/** A stream, KV bucket or object store could not be created, updated or opened. */
export class TopologyError extends BusError {
  override readonly name = "TopologyError";
  declare readonly code: typeof busErrorCodes.topology;
  /** Stream name ("MAIL", "KV_ocsp-staples", "OBJ_spool"). */
  readonly stream: string;

  constructor(stream: string, message: string, options?: ErrorOptions) {
    super(busErrorCodes.topology, `${stream}: ${message}`, options);
    this.stream = stream;
  }
}

/** JetStream did not acknowledge a publish (no stream, timeout, limits). */
export class PublishError extends BusError {
  override readonly name = "PublishError";
  declare readonly code: typeof busErrorCodes.publish;
  readonly subject: string;

  constructor(subject: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(busErrorCodes.publish, `publish to ${subject} was not acknowledged${reason}`, options);
    this.subject = subject;
  }
}

/** An event whose name cannot become a subject, or that has no id to de-duplicate on. */
export class InvalidEventError extends BusError {
  override readonly name = "InvalidEventError";
  declare readonly code: typeof busErrorCodes.invalidEvent;

  constructor(message: string, options?: ErrorOptions) {
    super(busErrorCodes.invalidEvent, message, options);
  }
}
