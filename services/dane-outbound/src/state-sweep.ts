import { DeliverPolicy } from "@nats-io/jetstream";
import { bucketNames, kvStreamName, type Bus } from "@postern/bus";
import { logEvents, type SweepMetrics } from "./diagnostics";

/**
 * Clean-up of completion markers in KV `delivery-state` (ADR 0002, addendum "marker sweep").
 *
 * A completed message leaves a purge marker under its key so that a copy JetStream hands out
 * again (or an edge re-publish) is acked without a second delivery. The marker only matters
 * while such a copy can still come back; after `retentionMs` it is removed here, else the
 * bucket's stream keeps one marker per message forever.
 *
 * Unlike nats.js's kv.purgeDeletes() (whole history in memory, every purge at once), this
 * reads the last entry of each key headers-only through an ordered pull consumer, one batch
 * at a time, and purges with a bounded number of requests in flight.
 */

/** The KV operation of an entry: "PUT" for live state, "DEL"/"PURGE" for markers. */
export interface KvEntryHead {
  key: string;
  /** Stream sequence (KV revision) of the entry. */
  seq: number;
  operation: string;
  /** When the entry was written (epoch ms, the server's stream timestamp). */
  createdMs: number;
}

export function isMarker(operation: string): boolean {
  return operation === "DEL" || operation === "PURGE";
}

/** A marker at least `retentionMs` old; live state (PUT) never is. */
export function isPurgeDue(e: KvEntryHead, nowMs: number, retentionMs: number): boolean {
  return isMarker(e.operation) && nowMs - e.createdMs >= retentionMs;
}

export function markersToPurge(entries: readonly KvEntryHead[], nowMs: number, retentionMs: number): KvEntryHead[] {
  return entries.filter((e) => isPurgeDue(e, nowMs, retentionMs));
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight. After the first failure no new
 * call starts; the ones in flight are awaited, then the first error is thrown.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failure) throw failure.err;
}

export interface SweepOptions {
  retentionMs: number;
  now?: () => number;
  /** Purge requests in flight at once. */
  concurrency?: number;
  /** Entry heads read per fetch (what the sweep holds in memory). */
  batch?: number;
  /** How long a fetch waits for entries when the stream has nothing more to give. */
  fetchExpiresMs?: number;
  /** Checked between batches: true ends the sweep early (shutdown). */
  stopping?: () => boolean;
}

export interface SweepResult {
  /** Keys looked at (live state and markers). */
  scanned: number;
  /** Markers old enough, and purged by this sweep. */
  purged: number;
  /** Markers old enough but already gone when purged (another instance swept them). */
  raced: number;
  /** Markers younger than the retention, left alone. */
  young: number;
}

const BUCKET = bucketNames.deliveryState;
const STREAM = kvStreamName(BUCKET);
const PREFIX = `$KV.${BUCKET}.`;

/**
 * One pass over the bucket. Safe with other sweepers and workers at the same time: each
 * purge removes the subject's messages only up to the marker's own sequence, so an entry
 * written after the scan (new state for the key) is never removed, and a marker another
 * instance purged first counts as `raced`.
 */
export async function sweepMarkers(bus: Pick<Bus, "js" | "jsm">, opts: SweepOptions): Promise<SweepResult> {
  const now = opts.now ?? Date.now;
  const concurrency = opts.concurrency ?? 16;
  const batch = opts.batch ?? 256;
  const result: SweepResult = { scanned: 0, purged: 0, raced: 0, young: 0 };
  // An empty bucket would make the first fetch wait for its expiry.
  const info = await bus.jsm.streams.info(STREAM);
  if (info.state.messages === 0) return result;

  const consumer = await bus.js.consumers.get(STREAM, {
    // One subject as a string: a list needs nats-server 2.10.
    filter_subjects: `${PREFIX}>`,
    deliver_policy: DeliverPolicy.LastPerSubject,
    headers_only: true,
  });
  try {
    for (let last = false; !last && opts.stopping?.() !== true; ) {
      const heads: KvEntryHead[] = [];
      const iter = await consumer.fetch({ max_messages: batch, expires: opts.fetchExpiresMs ?? 5000 });
      for await (const m of iter) {
        heads.push({
          key: m.subject.slice(PREFIX.length),
          seq: m.seq,
          operation: m.headers?.get("KV-Operation") || "PUT",
          createdMs: Math.floor(m.info.timestampNanos / 1_000_000),
        });
        if (m.info.pending === 0) {
          last = true;
          break;
        }
      }
      // Nothing came before the fetch expired: the rest was removed meanwhile.
      if (heads.length === 0) break;
      result.scanned += heads.length;
      const t = now();
      const due = markersToPurge(heads, t, opts.retentionMs);
      result.young += heads.filter((h) => isMarker(h.operation)).length - due.length;
      await forEachLimited(due, concurrency, async (h) => {
        // seq: up to but not including, so only this marker (and nothing newer) goes.
        const r = await bus.jsm.streams.purge(STREAM, { filter: `${PREFIX}${h.key}`, seq: h.seq + 1 });
        if (r.purged > 0) result.purged += 1;
        else result.raced += 1;
      });
    }
  } finally {
    // The ordered consumer is ephemeral (inactive_threshold); delete it now rather than wait.
    await consumer.delete().catch(() => undefined);
  }
  return result;
}

export interface MarkerSweeperOptions extends SweepOptions {
  /** Time between sweeps (each is jittered by ±10 % so instances drift apart); 0: never. */
  intervalMs: number;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  metrics: SweepMetrics;
}

/** Periodic sweepMarkers, one pass at a time; the timer does not keep the process alive. */
export class MarkerSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult | undefined> | undefined;
  private stopped = false;

  constructor(
    private readonly bus: Pick<Bus, "js" | "jsm">,
    private readonly opts: MarkerSweeperOptions,
  ) {}

  start(): void {
    if (this.opts.intervalMs <= 0 || this.stopped) return;
    this.schedule();
  }

  private schedule(): void {
    const delay = this.opts.intervalMs * (0.9 + Math.random() * 0.2);
    this.timer = setTimeout(() => {
      void this.sweep().finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, delay);
    this.timer.unref();
  }

  /** One sweep now (or the result of the one running); undefined once stopped or after an error (logged and counted). */
  sweep(): Promise<SweepResult | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<SweepResult | undefined> {
    const { logger, metrics } = this.opts;
    const started = performance.now();
    try {
      const r = await sweepMarkers(this.bus, { ...this.opts, stopping: () => this.stopped });
      const seconds = (performance.now() - started) / 1000;
      metrics.markersPurged.inc(r.purged);
      metrics.sweepDuration.set(seconds);
      logger.info(
        { event: logEvents.stateSweep, scanned: r.scanned, purged: r.purged, raced: r.raced, young: r.young, duration_ms: Math.round(seconds * 1000) },
        "swept completion markers",
      );
      return r;
    } catch (err) {
      metrics.sweepErrors.inc();
      metrics.sweepDuration.set((performance.now() - started) / 1000);
      logger.warn({ event: logEvents.stateSweepError, err }, "completion marker sweep failed; next sweep retries");
      return undefined;
    }
  }

  /** Stops the timer and waits for a sweep in progress (it ends after its current batch). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
