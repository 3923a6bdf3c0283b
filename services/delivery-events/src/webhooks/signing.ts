/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): the
 * secret is `whsec_` + base64 of the key (the prefix is optional, as in the
 * reference libraries); the signature is HMAC-SHA256 over
 * "<webhook-id>.<webhook-timestamp>.<body>", sent as `v1,<base64>`.
 * Pure: the caller supplies the timestamp.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
export const MIN_KEY_BYTES = 16;
export const MAX_KEY_BYTES = 64;

/** The signing key of a `whsec_...` secret, or undefined when it is not base64 of 16 to 64 bytes. */
export function parseSecret(secret: string): Buffer | undefined {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return undefined;
  const key = Buffer.from(encoded, "base64");
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES ? key : undefined;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` */
export function sign(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

export function signedHeaders(key: Buffer, id: string, timestampSeconds: number, body: string): SignedHeaders {
  return { "webhook-id": id, "webhook-timestamp": String(timestampSeconds), "webhook-signature": sign(key, id, timestampSeconds, body) };
}

/**
 * What a receiver does: true when one of the space-separated `v1,` signatures
 * matches and the timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export function verify(key: Buffer, headers: SignedHeaders, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const timestamp = Number(headers["webhook-timestamp"]);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const want = Buffer.from(sign(key, headers["webhook-id"], timestamp, body));
  return headers["webhook-signature"].split(" ").some((candidate) => {
    const have = Buffer.from(candidate);
    return have.length === want.length && timingSafeEqual(have, want);
  });
}
