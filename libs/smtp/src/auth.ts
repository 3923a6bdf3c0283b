/**
 * SASL for AUTH (RFC 4954): PLAIN (RFC 4616) and LOGIN, as a pure state
 * machine. The session feeds it the initial response and each line the
 * client sends after a 334 challenge; it answers with the next challenge,
 * the credentials, or an error reply.
 *
 * SECURITY: responses are strict base64 (RFC 4648 alphabet, correct padding);
 * decoded identities and passwords must be valid UTF-8 without NUL, and the
 * PLAIN message must have exactly three fields. Nothing here is logged:
 * credentials go to the adapter only, in the "auth" event.
 */
import { type Reply } from "./reply";
import { replies } from "./replies";
import { type AuthMechanism, ProtocolErrorKind } from "./types";

export interface SaslCredentials {
  readonly mechanism: AuthMechanism;
  readonly authzid: string;
  readonly username: string;
  readonly password: string;
}

export type SaslStep =
  /** send "334 <challenge>" (base64, may be empty) and read one more line */
  | { readonly kind: "challenge"; readonly challenge: string }
  | { readonly kind: "done"; readonly credentials: SaslCredentials }
  | { readonly kind: "error"; readonly error: ProtocolErrorKind; readonly reply: Reply };

const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const USERNAME = Buffer.from("Username:").toString("base64");
const PASSWORD = Buffer.from("Password:").toString("base64");

const malformed: SaslStep = { kind: "error", error: ProtocolErrorKind.authMalformed, reply: replies.authMalformed };
const badBase64: SaslStep = { kind: "error", error: ProtocolErrorKind.authMalformed, reply: replies.authBadBase64 };
const cancelled: SaslStep = { kind: "error", error: ProtocolErrorKind.authCancelled, reply: replies.authCancelled };

/** Strict base64 to bytes; null when malformed. */
export function decodeBase64(s: string): Buffer | null {
  return base64Re.test(s) ? Buffer.from(s, "base64") : null;
}

function text(bytes: Buffer): string | null {
  if (bytes.includes(0)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** RFC 4616: [authzid] NUL authcid NUL passwd, authcid and passwd not empty. */
function plain(bytes: Buffer): SaslStep {
  const a = bytes.indexOf(0);
  const b = a < 0 ? -1 : bytes.indexOf(0, a + 1);
  if (b < 0) return malformed;
  const authzid = text(bytes.subarray(0, a));
  const username = text(bytes.subarray(a + 1, b));
  const password = text(bytes.subarray(b + 1));
  if (authzid === null || username === null || password === null || username.length === 0 || password.length === 0) return malformed;
  return { kind: "done", credentials: { mechanism: "PLAIN", authzid, username, password } };
}

export class SaslExchange {
  private username: string | null = null;

  private constructor(readonly mechanism: AuthMechanism) {}

  /**
   * Starts an exchange. `initial` is the initial response as sent ("=" for an
   * empty one), undefined when absent. Returns the exchange (null when the
   * first step already ends it) and the first step.
   */
  static start(mechanism: AuthMechanism, initial: string | undefined): { exchange: SaslExchange | null; step: SaslStep } {
    const x = new SaslExchange(mechanism);
    if (initial === undefined) {
      return { exchange: x, step: { kind: "challenge", challenge: mechanism === "PLAIN" ? "" : USERNAME } };
    }
    const step = x.respond(initial === "=" ? "" : initial, true);
    return { exchange: step.kind === "challenge" ? x : null, step };
  }

  /** One client line after a 334 (or the initial response). */
  respond(line: string, initial = false): SaslStep {
    if (line === "*" && !initial) return cancelled;
    const bytes = decodeBase64(line);
    if (bytes === null) return badBase64;
    if (this.mechanism === "PLAIN") return plain(bytes);
    const value = text(bytes);
    if (value === null) return malformed;
    if (this.username === null) {
      if (value.length === 0) return malformed;
      this.username = value;
      return { kind: "challenge", challenge: PASSWORD };
    }
    if (value.length === 0) return malformed;
    return { kind: "done", credentials: { mechanism: "LOGIN", authzid: "", username: this.username, password: value } };
  }
}
