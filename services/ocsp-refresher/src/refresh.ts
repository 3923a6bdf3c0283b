/**
 * One refresh of one certificate: take the lease, fetch, verify, keep or replace the staple,
 * hand it out, record when to come back, give the lease back.
 */
import { type Bus, type KV, newEvent, publishEvent } from "@postern/bus";
import { buildRequest, evaluateResponse, OcspErrorCode, prepareCertificates, type VerifiedResponse } from "@postern/ocsp";
import type { Logger } from "pino";
import { type RefresherSettings } from "./config";
import { eventNames, logEvents, type RefresherMetrics } from "./diagnostics";
import { FetchError, FetchErrorCode } from "./errors";
import { type OcspFetcher } from "./fetch";
import { type EdgePusher, removeStapleFile, stapleMessage, writeStapleFile } from "./outputs";
import { type CertRecord, type StapleEnvelope, withEdge } from "./records";
import { backoffDelay, decide, nextRefreshAt, retryAt } from "./schedule";
import { deleteStaple, type HeldStaple, readStaple, type StapleSlot, updateCert, writeStaple } from "./store";

export interface RefreshDeps {
  bus: Bus;
  certs: KV;
  staples: KV;
  settings: RefresherSettings;
  /** this instance, as lease owner */
  owner: string;
  clock: () => number;
  fetcher: OcspFetcher;
  pusher: EdgePusher;
  metrics: RefresherMetrics;
  logger: Logger;
}

type Attempt =
  | { kind: "stored" | "same"; url: string; response: VerifiedResponse }
  | { kind: "failed"; url?: string; code: string; reason: string };

const iso = (d: Date): string => d.toISOString();

function envelopeOf(r: VerifiedResponse, url: string, now: number): StapleEnvelope {
  const e: StapleEnvelope = {
    v: 1,
    status: r.status === "revoked" ? "revoked" : "good",
    this_update: iso(r.thisUpdate),
    next_update: iso(r.nextUpdate),
    produced_at: iso(r.producedAt),
    signer: { kind: r.signer.kind, subject: r.signer.subject, not_after: iso(r.signer.notAfter) },
    responder: url,
    fetched_at: new Date(now).toISOString(),
    der: r.der.toString("base64"),
  };
  if (r.revocationTime !== undefined) e.revocation_time = iso(r.revocationTime);
  if (r.revocationReason !== undefined) e.revocation_reason = r.revocationReason;
  return e;
}

/** Takes the lease when the certificate is due and nobody holds it; drops certificates no edge announces. */
async function claim(deps: RefreshDeps, certId: string): Promise<CertRecord | undefined> {
  const now = deps.clock();
  const ttlMs = deps.settings.edge_ttl_seconds * 1000;
  const written = await updateCert(deps.certs, certId, (cur) => {
    if (cur === undefined || cur.next_refresh_at > now) return undefined;
    if (cur.lease !== undefined && cur.lease.until > now) return undefined;
    if (Object.keys(withEdge(cur.edges, undefined, now, ttlMs)).length === 0) return "delete";
    return { ...cur, lease: { owner: deps.owner, until: now + deps.settings.lease_ms } };
  });
  if (written === "delete") {
    deps.logger.info({ event: logEvents.dropped, cert_id: certId }, "certificate no longer announced; dropped");
    const slot = await readStaple(deps.staples, certId);
    if (slot.revision !== 0) await deleteStaple(deps.staples, certId, slot.revision);
    if (deps.settings.staple_file_dir !== undefined) await removeStapleFile(deps.settings.staple_file_dir, certId);
    return undefined;
  }
  return written;
}

async function attempt(deps: RefreshDeps, record: CertRecord, held: HeldStaple | undefined): Promise<Attempt> {
  const s = deps.settings;
  let pair;
  try {
    pair = prepareCertificates(Buffer.from(record.leaf, "base64"), Buffer.from(record.issuer, "base64"));
  } catch (err) {
    return { kind: "failed", code: OcspErrorCode.Certificate, reason: err instanceof Error ? err.message : String(err) };
  }
  const url = s.responder_override_url ?? pair.leaf.ocspUrls[0];
  if (url === undefined) return { kind: "failed", code: FetchErrorCode.NoResponder, reason: "no OCSP responder known" };
  const request = buildRequest(pair, { nonce: s.request_nonce });
  let der: Buffer;
  try {
    der = await deps.fetcher(url, request.der, { timeoutMs: s.fetch_timeout_ms, maxBytes: s.max_response_bytes });
  } catch (err) {
    if (!(err instanceof FetchError)) throw err;
    deps.metrics.fetches.inc({ result: "error", code: err.code });
    return { kind: "failed", url, code: err.code, reason: err.message };
  }
  const verdict = evaluateResponse(der, pair, {
    now: new Date(deps.clock()),
    maxSkewMs: s.max_clock_skew_ms,
    nonce: request.nonce,
    maxResponseBytes: s.max_response_bytes,
    notOlderThan: held === undefined ? undefined : new Date(held.envelope.this_update),
  });
  deps.metrics.fetches.inc({ result: verdict.kind, code: verdict.kind === "invalid" ? verdict.code : "" });
  if (verdict.kind === "invalid") return { kind: "failed", url, code: verdict.code, reason: verdict.reason };
  const decision = decide(verdict, held?.envelope);
  if (decision.kind === "reject") return { kind: "failed", url, code: decision.code, reason: decision.reason };
  return { kind: decision.kind === "same" ? "same" : "stored", url, response: verdict.response };
}

/** Stores, pushes, writes the file and emits the events for a new staple. False when the lease was lost. */
async function publish(deps: RefreshDeps, certId: string, record: CertRecord, slot: StapleSlot, envelope: StapleEnvelope): Promise<boolean> {
  if (!(await writeStaple(deps.staples, certId, envelope, slot.revision))) return false;
  const held = slot.held;
  const staple = stapleMessage(certId, envelope);
  const edges = withEdge(record.edges, undefined, deps.clock(), deps.settings.edge_ttl_seconds * 1000);
  await deps.pusher.push(Object.keys(edges), staple);
  const dir = deps.settings.staple_file_dir;
  if (dir !== undefined) {
    await writeStapleFile(dir, certId, staple.ocspResponseDer).catch((err: unknown) =>
      deps.logger.error({ event: logEvents.fileFailed, cert_id: certId, path: dir, err }, "staple file not written"),
    );
  }
  const attributes: Record<string, string> = { cert_id: certId, status: envelope.status, this_update: envelope.this_update, next_update: envelope.next_update, responder: envelope.responder };
  const events = [newEvent(eventNames.refresh, { attributes })];
  if (envelope.status === "revoked" && held?.envelope.status !== "revoked") {
    const revoked = { cert_id: certId, revocation_time: envelope.revocation_time ?? "", revocation_reason: envelope.revocation_reason ?? "" };
    deps.logger.warn({ event: logEvents.revoked, ...revoked }, "certificate revoked");
    events.push(newEvent(eventNames.revoked, { attributes: { ...revoked, this_update: envelope.this_update, next_update: envelope.next_update } }));
  }
  for (const event of events) {
    await publishEvent(deps.bus, event).catch((err: unknown) =>
      deps.logger.error({ event: logEvents.eventFailed, cert_id: certId, name: event.name, err }, "event not stored"),
    );
  }
  return true;
}

/** Drops a held staple whose nextUpdate has passed (KV and file): an expired proof is never served. */
async function expire(deps: RefreshDeps, certId: string, held: HeldStaple | undefined, now: number): Promise<void> {
  if (held === undefined || Date.parse(held.envelope.next_update) > now) return;
  if (await deleteStaple(deps.staples, certId, held.revision)) {
    deps.logger.warn({ event: logEvents.expired, cert_id: certId, next_update: held.envelope.next_update }, "staple expired; none served");
  }
  if (deps.settings.staple_file_dir !== undefined) await removeStapleFile(deps.settings.staple_file_dir, certId);
}

/** Refreshes `certId` if it is due and not leased by another instance. */
export async function refreshCertificate(deps: RefreshDeps, certId: string): Promise<void> {
  const record = await claim(deps, certId);
  if (record === undefined) return;
  const slot = await readStaple(deps.staples, certId);
  if (slot.invalid !== undefined) deps.logger.warn({ event: logEvents.recordInvalid, key: certId, err: slot.invalid }, "stored staple unusable; replaced when a new one verifies");
  const held = slot.held;
  const result = await attempt(deps, record, held);
  const now = deps.clock();
  const s = deps.settings;
  let patch: Pick<CertRecord, "next_refresh_at" | "failures" | "last_error">;
  if (result.kind === "failed") {
    const failures = record.failures + 1;
    const at = retryAt(now, backoffDelay(failures, s.backoff.initial_ms, s.backoff.max_ms), held?.envelope);
    patch = { next_refresh_at: at, failures, last_error: { code: result.code, message: result.reason, at: now } };
    deps.logger.warn({ event: logEvents.rejected, cert_id: certId, url: result.url, code: result.code, reason: result.reason, failures, retry_at: new Date(at).toISOString() }, "OCSP refresh failed; held staple kept");
    await expire(deps, certId, held, now);
  } else {
    const r = result.response;
    const at = nextRefreshAt({ thisUpdate: r.thisUpdate.getTime(), nextUpdate: r.nextUpdate.getTime(), signerNotAfter: r.signer.notAfter.getTime() }, s.refresh_fraction, now, s.min_refresh_interval_ms);
    patch = { next_refresh_at: at, failures: 0, last_error: undefined };
    if (result.kind === "stored" && !(await publish(deps, certId, record, slot, envelopeOf(r, result.url, now)))) {
      deps.logger.warn({ event: logEvents.leaseLost, cert_id: certId }, "staple changed by another instance; result dropped");
    }
    const fields = { cert_id: certId, url: result.url, status: r.status, this_update: iso(r.thisUpdate), next_update: iso(r.nextUpdate), next_refresh_at: new Date(at).toISOString() };
    deps.logger.info({ event: result.kind === "same" ? logEvents.same : logEvents.fetched, ...fields }, "OCSP response verified");
  }
  const released = await updateCert(deps.certs, certId, (cur) => {
    if (cur?.lease?.owner !== deps.owner) return undefined;
    const { lease: _lease, last_error: _err, ...rest } = cur;
    return patch.last_error === undefined ? { ...rest, next_refresh_at: patch.next_refresh_at, failures: 0 } : { ...rest, ...patch };
  });
  if (released === undefined) deps.logger.warn({ event: logEvents.leaseLost, cert_id: certId }, "lease lost before release");
}
