import { hash } from "node:crypto";

/**
 * A deterministic event id: a UUID (version 8, RFC 9562 "custom") made from
 * SHA-256 of (message id, recipient position, event name, attempt). A
 * redelivered MAIL record reproduces the same ids, so consumers that
 * de-duplicate on id see each outcome once.
 */
export function eventId(messageId: string, rcptPos: number | string, name: string, attempt: number): string {
  // crypto.hash: the one-shot form, about half the cost of createHash().update().digest().
  const h = hash("sha256", JSON.stringify([messageId, rcptPos, name, attempt]), "buffer");
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
