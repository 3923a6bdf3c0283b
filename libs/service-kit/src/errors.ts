/** Named errors of @postern/service-kit. Codes are stable and cross process boundaries; classes don't. */

/** One configuration problem: `path` is the option path ("nats.servers[0]"), "" for the file as a whole. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Invalid or unreadable configuration. The message has one line per issue. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "POSTERN_CONFIG_INVALID";
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[], options?: ErrorOptions) {
    super(formatIssues(issues), options);
    this.issues = issues;
  }
}

function formatIssues(issues: ConfigIssue[]): string {
  if (issues.length === 0) return "invalid configuration";
  return issues.map((i) => `invalid configuration: ${i.path === "" ? "" : `${i.path}: `}${i.message}`).join("\n");
}

/** A TLS certificate, key or CA file named in the configuration could not be read. */
export class TlsFileError extends Error {
  override readonly name = "TlsFileError";
  readonly code = "POSTERN_TLS_FILE";
  readonly file: string;

  constructor(file: string, options?: ErrorOptions) {
    super(`cannot read TLS file ${file}`, options);
    this.file = file;
  }
}

/** The reason of `Shutdown.signal` once shutdown has begun. */
export class ShutdownError extends Error {
  override readonly name = "ShutdownError";
  readonly code = "POSTERN_SHUTDOWN";
  readonly reason: string;

  constructor(reason: string, options?: ErrorOptions) {
    super(`shutting down: ${reason}`, options);
    this.reason = reason;
  }
}

/** A shutdown closer or a readiness check did not finish within its time bound. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
  readonly code = "POSTERN_TIMEOUT";
  readonly what: string;
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number, options?: ErrorOptions) {
    super(`${what} did not finish within ${timeoutMs} ms`, options);
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}
