/**
 * The pino logger every service uses.
 *
 * SECURITY: secrets never reach the log. Every logged object (and every child logger's
 * bindings) is walked before it is written, and values are replaced by "[redacted]" when
 * - the key names a secret: password, passwd, pass, secret, token (auth_token, api_token ...),
 *   private_key / privateKey, api_key, authorization, cookie, credential(s), sasl, auth_data,
 *   initial_response (an SMTP AUTH initial response is a credential);
 * - the value is a PEM private key ("-----BEGIN ... PRIVATE KEY-----");
 * and the password in a URL's user information (redis://:pw@host, nats://u:pw@host) is
 * replaced by "[redacted]" in any string value. File names (auth_token_file, key_file) stay:
 * they say where a secret is, not what it is. Objects are copied only when something is
 * redacted, the walk stops at depth 8, and Errors, Buffers and other class instances are
 * left to pino's serializers.
 */
import { pino, type DestinationStream, type Logger } from "pino";

export const REDACTED = "[redacted]";

const SECRET_KEY = /(?:^|[_-])(?:pass|password|passwd|secret|secrets|token|tokens|private_?key|api_?key|authorization|cookie|credentials?|sasl|auth_?data|initial_?response)$/i;
const CAMEL_SECRET_KEY = /(?:Password|Passwd|Secret|Token|PrivateKey|ApiKey|Authorization|Credentials?|AuthData|InitialResponse)$/;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/@]+@/gi;
const MAX_DEPTH = 8;

// Log keys come from a small fixed vocabulary and every line walks them: remember the answer (bounded, in case
// keys are ever data, such as header names).
const secretKeyCache = new Map<string, boolean>();
const SECRET_KEY_CACHE_MAX = 4096;

/** Whether a key names a secret (see the module comment). */
export function isSecretKey(key: string): boolean {
  let secret = secretKeyCache.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key) || CAMEL_SECRET_KEY.test(key);
    if (secretKeyCache.size >= SECRET_KEY_CACHE_MAX) secretKeyCache.clear();
    secretKeyCache.set(key, secret);
  }
  return secret;
}

function redactString(value: string): string {
  if (PEM_PRIVATE_KEY.test(value)) return REDACTED;
  return value.includes("://") ? value.replace(URL_PASSWORD, `$1${REDACTED}@`) : value;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

/** `value` with secrets replaced; the same object when there is nothing to redact. */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (typeof value === "string") return redactString(value) as T;
  if (typeof value !== "object" || value === null || depth >= MAX_DEPTH || !isPlain(value)) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item: unknown, i) => {
      const r = redactSecrets(item, depth + 1);
      if (r !== item) (out ??= [...value])[i] = r;
    });
    return (out ?? value) as T;
  }
  let out: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const r = isSecretKey(key) && item !== undefined && item !== null && item !== "" ? REDACTED : redactSecrets(item, depth + 1);
    if (r !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = r;
  }
  return (out ?? value) as T;
}

/** pino applies formatters.bindings to the root's bindings only: child() bindings are redacted here, at every level. */
function redactChildBindings(logger: Logger): Logger {
  const child = logger.child.bind(logger);
  logger.child = ((bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => redactChildBindings(child(redactSecrets(bindings), options))) as unknown as Logger["child"];
  return logger;
}

/** pino JSON logger with base { service: name }; writes to stdout unless `destination` is given. Secrets are redacted. */
export function createLogger(opts: { name: string; level?: string; destination?: NodeJS.WritableStream }): Logger {
  const options = {
    level: opts.level ?? "info",
    base: { service: opts.name },
    formatters: {
      log: (object: Record<string, unknown>) => redactSecrets(object),
      bindings: (bindings: Record<string, unknown>) => redactSecrets(bindings),
    },
  };
  return redactChildBindings(opts.destination === undefined ? pino(options) : pino(options, opts.destination as DestinationStream));
}
