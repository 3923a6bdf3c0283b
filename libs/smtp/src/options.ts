/** Session option defaults and validation. */
import { SmtpOptionsError } from "./errors";
import { type AuthMechanism, type ResolvedOptions, type SessionOptions } from "./types";

const mechanisms: ReadonlySet<AuthMechanism> = new Set(["PLAIN", "LOGIN"]);
const positive = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

export function resolveOptions(o: SessionOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    hostname: o.hostname,
    maxMessageSize: o.maxMessageSize,
    maxRecipients: o.maxRecipients ?? 100,
    maxCommandLine: o.maxCommandLine ?? 512,
    maxErrors: o.maxErrors ?? 20,
    vrfy: o.vrfy ?? "disabled",
    extensions: {
      pipelining: true,
      size: true,
      eightBitMime: true,
      smtputf8: true,
      enhancedStatusCodes: true,
      dsn: true,
      chunking: true,
      binaryMime: false,
      ...o.extensions,
    },
    syncCheck: o.syncCheck ?? true,
    tlsAvailable: o.tlsAvailable ?? false,
    tlsActive: o.tlsActive ?? false,
    requireTls: o.requireTls ?? false,
    auth: o.auth ?? false,
    authMechanisms: [...new Set<AuthMechanism>(o.authMechanisms ?? ["PLAIN", "LOGIN"])],
    allowInsecureAuth: o.allowInsecureAuth ?? false,
    maxAuthLine: o.maxAuthLine ?? 12288,
    prdr: o.prdr ?? false,
    maxOutputBuffer: o.maxOutputBuffer ?? 65_536,
    maxTextLine: o.maxTextLine ?? 0,
  };
  if (!/^[\x21-\x7e]+$/.test(r.hostname)) throw new SmtpOptionsError("hostname", "must be printable ASCII without spaces");
  if (!positive(r.maxMessageSize)) throw new SmtpOptionsError("maxMessageSize", "must be a positive integer");
  if (!positive(r.maxRecipients)) throw new SmtpOptionsError("maxRecipients", "must be a positive integer");
  if (!(Number.isSafeInteger(r.maxCommandLine) && r.maxCommandLine >= 512)) throw new SmtpOptionsError("maxCommandLine", "must be at least 512");
  if (!positive(r.maxErrors)) throw new SmtpOptionsError("maxErrors", "must be a positive integer");
  if (!(Number.isSafeInteger(r.maxAuthLine) && r.maxAuthLine >= 512)) throw new SmtpOptionsError("maxAuthLine", "must be at least 512");
  if (!(Number.isSafeInteger(r.maxTextLine) && (r.maxTextLine === 0 || r.maxTextLine >= 998))) throw new SmtpOptionsError("maxTextLine", "must be 0 or at least 998");
  if (!(Number.isSafeInteger(r.maxOutputBuffer) && r.maxOutputBuffer >= 1024)) throw new SmtpOptionsError("maxOutputBuffer", "must be at least 1024");
  if (r.requireTls && !r.tlsAvailable && !r.tlsActive) throw new SmtpOptionsError("requireTls", "needs tlsAvailable or tlsActive");
  if (r.auth && (r.authMechanisms.length === 0 || r.authMechanisms.some((m) => !mechanisms.has(m)))) {
    throw new SmtpOptionsError("authMechanisms", "must list PLAIN and/or LOGIN");
  }
  if (r.extensions.binaryMime && !r.extensions.chunking) throw new SmtpOptionsError("extensions.binaryMime", "needs chunking");
  return r;
}
