import { hash } from "node:crypto";

/**
 * A deterministic event id: a UUID (version 8, RFC 9562 "custom") made from
 * SHA-256 of (message id, recipient position, event name, attempt). A
 * redelivered MAIL record reproduces the same ids, so consumers that
 * de-duplicate on id see each outcome once.
 */
/** Hex digit of the variant byte's high nibble: bits "10" (RFC 9562) over the digest's two low bits of that nibble. */
const VARIANT = "89ab89ab89ab89ab";

export function eventId(messageId: string, rcptPos: number | string, name: string, attempt: number): string {
  // crypto.hash: the one-shot form, about half the cost of createHash().update().digest().
  // Hex straight from the digest and the version/variant set on the hex digits (12: "8",
  // 16: 8|low two bits) gives the same id as setting the bits in a Buffer and encoding it,
  // at half the cost again (two ids per delivered message).
  const hex = hash("sha256", JSON.stringify([messageId, rcptPos, name, attempt]), "hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${VARIANT[parseInt(hex.charAt(16), 16)] ?? "8"}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
