/**
 * The JSON values ocsp-refresher keeps in KV (docs/adr/0005-ocsp-stapling.md). Keys are the
 * certificate id: lower-case hex SHA-256 of the leaf DER. Values read back are checked with
 * zod: another instance (or an operator) wrote them.
 */
import { z } from "zod";

export const CERT_ID = /^[0-9a-f]{64}$/;
/** More edges than this for one certificate: the least recently seen is dropped. */
export const MAX_EDGES = 64;

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const ms = z.number().int().min(0);
const iso = z.iso.datetime();

/** KV ocsp-certs: what is watched, for whom, and when it is due. */
export const certRecordSchema = z.object({
  v: z.literal(1),
  leaf: b64,
  issuer: b64,
  /** reply_to gRPC address of each edge -> last announcement (ms since the epoch) */
  edges: z.record(z.string(), ms),
  next_refresh_at: ms,
  /** consecutive failed attempts */
  failures: z.number().int().min(0),
  last_error: z.object({ code: z.string(), message: z.string(), at: ms }).optional(),
  /** the instance refreshing it now, until `until` (compare-and-set on the KV revision) */
  lease: z.object({ owner: z.string(), until: ms }).optional(),
});
export type CertRecord = z.infer<typeof certRecordSchema>;

/** KV ocsp-staples: the current verified staple. Only "good" and "revoked" are stored. */
export const stapleEnvelopeSchema = z.object({
  v: z.literal(1),
  status: z.enum(["good", "revoked"]),
  this_update: iso,
  next_update: iso,
  produced_at: iso,
  revocation_time: iso.optional(),
  revocation_reason: z.string().optional(),
  signer: z.object({ kind: z.enum(["issuer", "delegated"]), subject: z.string(), not_after: iso }),
  responder: z.string(),
  fetched_at: iso,
  /** the OCSPResponse DER, base64: what the edge staples */
  der: b64,
});
export type StapleEnvelope = z.infer<typeof stapleEnvelopeSchema>;

export class RecordError extends Error {
  override readonly name = "RecordError";
  readonly code = "POSTERN_OCSP_RECORD_INVALID";
  constructor(readonly key: string, reason: string, options?: ErrorOptions) {
    super(`KV value ${key}: ${reason}`, options);
  }
}

function decode<T>(schema: z.ZodType<T>, key: string, bytes: Uint8Array): T {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new RecordError(key, "not JSON", { cause: err });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new RecordError(key, parsed.error.issues[0]?.message ?? "invalid");
  return parsed.data;
}

export const encodeRecord = (value: CertRecord | StapleEnvelope): Uint8Array => Buffer.from(JSON.stringify(value));
export const decodeCertRecord = (key: string, bytes: Uint8Array): CertRecord => decode(certRecordSchema, key, bytes);
export const decodeStaple = (key: string, bytes: Uint8Array): StapleEnvelope => decode(stapleEnvelopeSchema, key, bytes);

/** Adds or refreshes `address`, drops edges silent for `ttlMs`, keeps the MAX_EDGES most recent. */
export function withEdge(edges: Record<string, number>, address: string | undefined, now: number, ttlMs: number): Record<string, number> {
  const next: Record<string, number> = {};
  const entries = Object.entries(edges).filter(([, seen]) => now - seen < ttlMs);
  if (address !== undefined) entries.push([address, now]);
  entries.sort((a, b) => b[1] - a[1]);
  for (const [addr, seen] of entries) {
    if (Object.keys(next).length >= MAX_EDGES) break;
    if (!(addr in next)) next[addr] = seen;
  }
  return next;
}

/** The KV error for a compare-and-set that lost: "wrong last sequence" (JetStream 10071). */
export function isWrongSequence(err: unknown): boolean {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 10071 || (err instanceof Error && /wrong last sequence|key exists/i.test(err.message));
}
