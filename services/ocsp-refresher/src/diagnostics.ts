/** Every log message ocsp-refresher writes (the `event` field), its metrics and its event names. */
import { Counter, Gauge, type Registry } from "prom-client";

export const logEvents = {
  ready: "ocsp.ready", // { instance, scan_interval_ms, concurrency }
  watchAccepted: "ocsp.watch", // { cert_id, edge, new }
  watchRejected: "ocsp.watch_rejected", // { cert_id, edge, code, err }
  fetched: "ocsp.fetched", // { cert_id, url, status, this_update, next_update, next_refresh_at }
  same: "ocsp.unchanged", // { cert_id, url, next_refresh_at } (responder repeated the held response)
  rejected: "ocsp.rejected", // { cert_id, url, code, reason, failures, retry_at } (held staple kept)
  revoked: "ocsp.revoked", // { cert_id, revocation_time, revocation_reason }
  expired: "ocsp.staple_expired", // { cert_id, next_update } (removed from KV and the staple file)
  pushFailed: "ocsp.push_failed", // { cert_id, edge, err }
  fileFailed: "ocsp.file_failed", // { cert_id, path, err }
  eventFailed: "ocsp.event_failed", // { cert_id, name, err }
  recordInvalid: "ocsp.record_invalid", // { key, err } (left alone for an operator)
  dropped: "ocsp.dropped", // { cert_id } (no edge announced it within edge_ttl_seconds)
  leaseLost: "ocsp.lease_lost", // { cert_id } (another instance took it over; result not recorded)
  scanFailed: "ocsp.scan_failed", // { err }
  watcherFailed: "ocsp.kv_watch_failed", // { bucket, err } (restarted)
} as const;

export const eventNames = { refresh: "ocsp:refresh", revoked: "ocsp:revoked" } as const;

export interface RefresherMetrics {
  /** postern_ocsp_fetches_total{result="good|revoked|unknown|invalid|error", code} */
  fetches: Counter<"result" | "code">;
  /** postern_ocsp_pushes_total{result="ok|error"} (EdgeCallback.PutStaple) */
  pushes: Counter<"result">;
  /** postern_ocsp_watched_certificates */
  watched: Gauge;
}

/**
 * Registers the metrics. `expiries()` yields cert_id -> nextUpdate (ms) of each stored staple;
 * postern_ocsp_staple_expiry_seconds{cert_id} is computed from it at every scrape.
 */
export function createRefresherMetrics(
  registry: Registry,
  expiries: () => Iterable<[string, number]>,
  now: () => number,
  watched: () => number,
): RefresherMetrics {
  new Gauge({
    name: "postern_ocsp_staple_expiry_seconds",
    help: "Seconds until the stored OCSP staple's nextUpdate, per certificate (negative: expired)",
    labelNames: ["cert_id"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const t = now();
      for (const [certId, nextUpdate] of expiries()) this.set({ cert_id: certId }, Math.round((nextUpdate - t) / 1000));
    },
  });
  return {
    fetches: new Counter({
      name: "postern_ocsp_fetches_total",
      help: "OCSP fetches by result and stable error code",
      labelNames: ["result", "code"] as const,
      registers: [registry],
    }),
    pushes: new Counter({
      name: "postern_ocsp_pushes_total",
      help: "EdgeCallback.PutStaple calls by result",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    watched: new Gauge({
      name: "postern_ocsp_watched_certificates",
      help: "Certificates in KV ocsp-certs",
      registers: [registry],
      collect() {
        this.set(watched());
      },
    }),
  };
}
