import { type Bus, bucketNames, connectBus, ensureTopology, kvStreamName, natsConfigSchema, openKv, type KV } from "@postern/bus";
import { type Backend, startNats } from "@postern/testing";
import { pino } from "pino";
import { Registry } from "prom-client";
import { configSchema } from "./config";
import { createSweepMetrics, logEvents } from "./diagnostics";
import { emptyState, StateStore } from "./state";
import { forEachLimited, isPurgeDue, type KvEntryHead, MarkerSweeper, markersToPurge, sweepMarkers } from "./state-sweep";
import { startHarness } from "./test-harness";

jest.setTimeout(60_000);

const HOUR = 3600_000;
const head = (operation: string, createdMs: number, key = "k"): KvEntryHead => ({ key, seq: 1, operation, createdMs });

describe("isPurgeDue", () => {
  const now = 10 * HOUR;
  it.each([
    ["PURGE", now - 2 * HOUR, HOUR, true],
    ["DEL", now - 2 * HOUR, HOUR, true],
    ["PURGE", now - HOUR, HOUR, true], // exactly the retention
    ["PURGE", now - HOUR + 1, HOUR, false],
    ["PURGE", now + 5, HOUR, false], // server clock ahead of ours
    ["PURGE", now, 0, true],
    ["PUT", now - 100 * HOUR, HOUR, false], // live state is never a marker
    ["PUT", now, 0, false],
    ["", now - 100 * HOUR, 0, false],
  ])("%s written at %d, retention %d -> %s", (operation, createdMs, retention, due) => {
    expect(isPurgeDue(head(operation, createdMs), now, retention)).toBe(due);
  });

  it("markersToPurge keeps order and drops live and young entries", () => {
    const entries = [head("PURGE", 0, "a"), head("PUT", 0, "b"), head("PURGE", 9 * HOUR + 1, "c"), head("DEL", HOUR, "d")];
    expect(markersToPurge(entries, now, HOUR).map((e) => e.key)).toEqual(["a", "d"]);
  });
});

describe("forEachLimited", () => {
  it("never has more than the limit in flight and visits every item once", async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachLimited(
      Array.from({ length: 100 }, (_, i) => i),
      16,
      async (i) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise<void>((r) => setImmediate(r));
        seen.push(i);
        inFlight -= 1;
      },
    );
    expect(peak).toBe(16);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("starts nothing new after a failure and throws the first error", async () => {
    const started: number[] = [];
    await expect(
      forEachLimited([1, 2, 3, 4, 5, 6], 2, async (i) => {
        started.push(i);
        await new Promise<void>((r) => setImmediate(r));
        if (i === 2) throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(started.length).toBeLessThan(6);
  });

  it("does nothing for no items", async () => {
    await expect(forEachLimited([], 16, () => Promise.reject(new Error("called")))).resolves.toBeUndefined();
  });
});

describe("marker options", () => {
  it("defaults to a day of retention, hourly sweeps, and refuses a retention under twice the ack wait", () => {
    const c = configSchema.parse({}).dane_outbound;
    expect(c.state_marker_retention_ms).toBe(24 * HOUR);
    expect(c.state_marker_sweep_interval_ms).toBe(HOUR);
    expect(configSchema.safeParse({ dane_outbound: { state_marker_sweep_interval_ms: 0 } }).success).toBe(true);
    expect(configSchema.safeParse({ dane_outbound: { ack_wait_seconds: 600, state_marker_retention_ms: 1_199_999 } }).success).toBe(false);
    expect(configSchema.safeParse({ dane_outbound: { ack_wait_seconds: 600, state_marker_retention_ms: 1_200_000 } }).success).toBe(true);
  });
});

describe("sweepMarkers on a real nats-server", () => {
  let nats: Backend;
  let bus: Bus;
  let kv: KV;
  let store: StateStore;
  const stream = kvStreamName(bucketNames.deliveryState);

  beforeAll(async () => {
    nats = await startNats();
    const config = natsConfigSchema.parse({ servers: [nats.url], jetstream: { mail: { storage: "memory" }, events: { storage: "memory" }, spool: { storage: "memory" }, kv: { storage: "memory" } } });
    bus = await connectBus(config, { name: "sweep-test", logger: pino({ level: "silent" }) });
    await ensureTopology(bus, config.jetstream);
    kv = await openKv(bus, "delivery-state");
    store = new StateStore(kv);
  });

  afterAll(async () => {
    await bus?.drain();
    await nats?.stop();
  });

  const keys = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  async function complete(ids: string[]): Promise<void> {
    await forEachLimited(ids, 16, async (id) => {
      await store.save(id, emptyState(), 0);
      await store.remove(id);
    });
  }
  async function live(ids: string[]): Promise<void> {
    await forEachLimited(ids, 16, async (id) => {
      await store.save(id, { ...emptyState(), attempts: 1 }, 0);
    });
  }
  const messages = async (): Promise<number> => (await bus.jsm.streams.info(stream)).state.messages;

  it("does nothing on an empty bucket", async () => {
    await expect(sweepMarkers(bus, { retentionMs: 0 })).resolves.toEqual({ scanned: 0, purged: 0, raced: 0, young: 0 });
  });

  it("removes old markers only, in batches; live state and young markers stay; a swept message is no longer 'done'", async () => {
    const oldDone = keys("old-done", 45);
    const oldLive = keys("old-live", 5);
    await complete(oldDone);
    await live(oldLive);
    // The clock of the sweep: `retention` after the newest "old" entry. Entries written after
    // it are younger than the retention.
    const boundary = Math.max(...(await Promise.all([...oldDone, ...oldLive].map(async (k) => (await kv.get(k))!.created.getTime()))));
    while (Date.now() <= boundary + 1) await new Promise<void>((r) => setTimeout(r, 2));
    const youngDone = keys("young-done", 7);
    const youngLive = keys("young-live", 3);
    await complete(youngDone);
    await live(youngLive);
    for (const k of youngDone) expect((await kv.get(k))!.created.getTime()).toBeGreaterThan(boundary);
    expect(await messages()).toBe(60);

    const r = await sweepMarkers(bus, { retentionMs: HOUR, now: () => boundary + HOUR, batch: 8, concurrency: 4 });
    expect(r).toEqual({ scanned: 60, purged: 45, raced: 0, young: 7 });
    expect(await messages()).toBe(15);

    for (const id of oldDone) expect(await kv.get(id)).toBeNull();
    for (const id of youngDone) expect(await store.load(id)).toMatchObject({ done: true });
    for (const id of [...oldLive, ...youngLive]) expect((await store.load(id)).state.attempts).toBe(1);
    // The trade-off (ADR 0002): past the retention a copy of a completed message finds no
    // marker and would be delivered again; a young marker still refuses the first write.
    expect(await store.load(oldDone[0]!)).toEqual({ state: emptyState(), revision: 0 });
    await expect(store.save(oldDone[0]!, emptyState(), 0)).resolves.toBeGreaterThan(0);
    await expect(store.save(youngDone[0]!, emptyState(), 0)).rejects.toThrow();

    // Idempotent: a second pass with the same clock finds nothing more to remove.
    expect(await sweepMarkers(bus, { retentionMs: HOUR, now: () => boundary + HOUR })).toMatchObject({ purged: 0, young: 7 });
    await kv.purge(oldDone[0]!); // tidy for the next test
  });

  it("is safe with several sweepers at once: each marker is purged exactly once", async () => {
    await complete(keys("race", 40));
    const before = await messages();
    const later = () => Date.now() + 2 * HOUR;
    const runs = await Promise.all([1, 2, 3].map(() => sweepMarkers(bus, { retentionMs: HOUR, now: later, batch: 16, concurrency: 8, fetchExpiresMs: 1000 })));
    // Every marker in the bucket (these 40, the 7 young ones and the one re-completed above).
    const markers = 40 + 7 + 1;
    expect(runs.reduce((n, r) => n + r.purged, 0)).toBe(markers);
    expect(await messages()).toBe(before - markers);
  });

  it("MarkerSweeper counts, logs, and stops", async () => {
    await complete(keys("timer", 3));
    const registry = new Registry();
    const logs: Array<Record<string, unknown>> = [];
    const logger = { info: (o: object) => logs.push(o as Record<string, unknown>), warn: (o: object) => logs.push(o as Record<string, unknown>) };
    const sweeper = new MarkerSweeper(bus, { retentionMs: HOUR, now: () => Date.now() + 2 * HOUR, intervalMs: 0, logger, metrics: createSweepMetrics(registry) });
    sweeper.start(); // interval 0: no timer
    expect(await sweeper.sweep()).toMatchObject({ purged: 3 });
    const text = await registry.metrics();
    expect(text).toMatch(/postern_outbound_state_markers_purged_total 3/);
    expect(text).toMatch(/postern_outbound_state_sweep_errors_total 0/);
    expect(text).toMatch(/postern_outbound_state_sweep_duration_seconds \d/);
    expect(logs).toEqual([expect.objectContaining({ event: logEvents.stateSweep, purged: 3 })]);
    await sweeper.stop();
    await expect(sweeper.sweep()).resolves.toBeUndefined();
  });
});

describe("the service sweeps", () => {
  it("runs the sweeper at state_marker_sweep_interval_ms, exports its metrics, and stops it at shutdown", async () => {
    const h = await startHarness();
    try {
      const ctx = await h.start({ state_marker_sweep_interval_ms: 100 });
      for (let i = 0; i < 200 && !h.logs.some((l) => l.event === logEvents.stateSweep); i++) await new Promise((r) => setTimeout(r, 50));
      expect(h.logs.find((l) => l.event === logEvents.stateSweep)).toMatchObject({ scanned: 0, purged: 0 });
      const metrics = await (await fetch(`http://127.0.0.1:${ctx.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/postern_outbound_state_markers_purged_total(\{[^}]*\})? 0/);
      expect(metrics).toMatch(/postern_outbound_state_sweep_duration_seconds(\{[^}]*\})? \d/);
      await ctx.shutdown.trigger("test");
      const after = h.logs.filter((l) => l.event === logEvents.stateSweep).length;
      await new Promise((r) => setTimeout(r, 300));
      expect(h.logs.filter((l) => l.event === logEvents.stateSweep).length).toBe(after);
    } finally {
      await h.close();
    }
  });
});
