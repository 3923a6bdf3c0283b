/**
 * Named errors and stable codes of @postern/hostlist.
 *
 * A list that does not parse is a configuration error (HostlistConfigError, thrown at
 * start-up). A lookup that fails while a list is evaluated is not thrown: the evaluation
 * returns `{ result: "defer", error }` with a HostlistLookupError whose `cause` is what the
 * lookup threw (for Redis, a RedisUnavailableError naming every server tried). Codes cross
 * NATS and gRPC; classes don't.
 */

export const HostlistErrorCode = {
  /** A list item, a redis_servers item or an option cannot work. */
  ConfigInvalid: "POSTERN_HOSTLIST_CONFIG_INVALID",
  /** A lookup item could not be answered (no server answered, a timeout). */
  LookupFailed: "POSTERN_HOSTLIST_LOOKUP_FAILED",
  /** A lookup answered with data that is not a valid list item (a bad CIDR in a Redis set). */
  LookupBadData: "POSTERN_HOSTLIST_LOOKUP_BAD_DATA",
  /** Every configured Redis server failed the command. */
  RedisUnavailable: "POSTERN_HOSTLIST_REDIS_UNAVAILABLE",
} as const;
export type HostlistErrorCode = (typeof HostlistErrorCode)[keyof typeof HostlistErrorCode];

/** Item text for messages: quoted and escaped, so control bytes never reach a log line raw. */
export function quoteItem(text: string): string {
  return JSON.stringify(text);
}

/** A list or redis_servers item that cannot work; `item` names it (passwords redacted). */
export class HostlistConfigError extends Error {
  override readonly name = "HostlistConfigError";
  readonly code = HostlistErrorCode.ConfigInvalid;
  /** The offending item as written (a password replaced by ***). */
  readonly item: string;
  /** 1-based position of the item in its list; 0 when the error is about the whole list. */
  readonly position: number;

  constructor(item: string, position: number, reason: string, options?: ErrorOptions) {
    super(position === 0 ? reason : `bad item ${quoteItem(item)} (item ${position}): ${reason}`, options);
    this.item = item;
    this.position = position;
  }
}

/** A lookup item that could not be evaluated; the list result is "defer". */
export class HostlistLookupError extends Error {
  override readonly name = "HostlistLookupError";
  readonly code: typeof HostlistErrorCode.LookupFailed | typeof HostlistErrorCode.LookupBadData;
  /** The list item whose lookup failed, as written. */
  readonly item: string;
  /** SMEMBERS, SISMEMBER, HGET or GET. */
  readonly command: string;

  constructor(
    item: string,
    command: string,
    code: typeof HostlistErrorCode.LookupFailed | typeof HostlistErrorCode.LookupBadData,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`lookup ${quoteItem(item)} failed: ${reason}`, options);
    this.item = item;
    this.command = command;
    this.code = code;
  }
}

/** One server's failure inside a RedisUnavailableError. */
export interface ServerFailure {
  /** "127.0.0.1:6379/0": never the password */
  readonly server: string;
  readonly reason: string;
}

/** Thrown by the Redis lookup adapter when no server answered the command. */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
  readonly code = HostlistErrorCode.RedisUnavailable;
  readonly command: string;
  readonly failures: readonly ServerFailure[];

  constructor(command: string, failures: readonly ServerFailure[]) {
    const detail = failures.map((f) => `${f.server}: ${f.reason}`).join("; ");
    super(`no Redis server answered ${command} (${detail === "" ? "no server configured" : detail})`);
    this.command = command;
    this.failures = failures;
  }
}
