/**
 * Reads and compare-and-set writes of KV ocsp-certs and ocsp-staples. Every write names the
 * revision it read, so two instances never overwrite each other blindly: the lease that makes
 * one instance the refresher of a certificate is such a write.
 */
import type { KV } from "@postern/bus";
import {
  type CertRecord,
  decodeCertRecord,
  decodeStaple,
  encodeRecord,
  isWrongSequence,
  RecordError,
  type StapleEnvelope,
} from "./records";

const CAS_ATTEMPTS = 8;

export class CasError extends Error {
  override readonly name = "CasError";
  readonly code = "POSTERN_OCSP_KV_CONTENDED";
  constructor(readonly key: string) {
    super(`KV ${key}: still contended after ${CAS_ATTEMPTS} compare-and-set attempts`);
  }
}

/** `mutate` sees the current record (undefined when absent) and returns the next, "delete", or undefined to leave it. */
export type Mutation = (current: CertRecord | undefined) => CertRecord | "delete" | undefined;

/** Applies `mutate` with compare-and-set, re-reading after each lost race. Returns what was written. */
export async function updateCert(kv: KV, certId: string, mutate: Mutation): Promise<CertRecord | "delete" | undefined> {
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const entry = await kv.get(certId);
    const live = entry !== null && entry.operation === "PUT";
    const current = live ? decodeCertRecord(certId, entry.value) : undefined;
    const next = mutate(current);
    if (next === undefined || (next === "delete" && !live)) return undefined;
    try {
      if (next === "delete") await kv.delete(certId, { previousSeq: entry?.revision ?? 0 });
      else if (live) await kv.update(certId, encodeRecord(next), entry.revision);
      else await kv.create(certId, encodeRecord(next)); // create also replaces a delete marker
      return next;
    } catch (err) {
      if (!isWrongSequence(err)) throw err;
    }
  }
  throw new CasError(certId);
}

export interface HeldStaple {
  envelope: StapleEnvelope;
  revision: number;
}

export interface StapleSlot {
  /** the stored staple; undefined when absent, deleted or not decodable */
  held?: HeldStaple;
  /** revision to compare against when replacing it (0: nothing stored) */
  revision: number;
  /** why a stored value was not usable */
  invalid?: RecordError;
}

/** The stored staple and the revision a replacement must name. */
export async function readStaple(kv: KV, certId: string): Promise<StapleSlot> {
  const entry = await kv.get(certId);
  if (entry === null || entry.operation !== "PUT") return { revision: entry?.revision ?? 0 };
  try {
    return { held: { envelope: decodeStaple(certId, entry.value), revision: entry.revision }, revision: entry.revision };
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    return { revision: entry.revision, invalid: err };
  }
}

/** Writes `envelope` if the slot still is at `revision`; false when another write came first. */
export async function writeStaple(kv: KV, certId: string, envelope: StapleEnvelope, revision: number): Promise<boolean> {
  try {
    if (revision === 0) await kv.create(certId, encodeRecord(envelope));
    else await kv.update(certId, encodeRecord(envelope), revision);
    return true;
  } catch (err) {
    if (isWrongSequence(err)) return false;
    throw err;
  }
}

/** Deletes the staple if it is still at `revision`; false when it changed meanwhile. */
export async function deleteStaple(kv: KV, certId: string, revision: number): Promise<boolean> {
  try {
    await kv.delete(certId, { previousSeq: revision });
    return true;
  } catch (err) {
    if (isWrongSequence(err)) return false;
    throw err;
  }
}
