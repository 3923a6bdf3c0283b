import type { MessageSource, SignOptions } from "./types";

/** The signature fields signed by default when present in the message. */
export const DEFAULT_SIGNED_HEADERS: readonly string[] = [];

/** Signs a whole message; returns the complete `DKIM-Signature: ...\r\n` field to prepend. */
export function signMessage(_message: Buffer | Uint8Array | string, _options: SignOptions): string {
  throw new Error("not implemented yet");
}

/** Signs a message read from a stream (the body is hashed as it arrives, never held). */
export function signStream(_message: MessageSource, _options: SignOptions): Promise<string> {
  return Promise.reject(new Error("not implemented yet"));
}
