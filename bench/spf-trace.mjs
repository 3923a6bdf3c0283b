// Per-hop timing for pnpm bench:spf's round trip (BENCH_TRACE=1 only; off by default).
//
// Both processes run on one machine, so process.hrtime (CLOCK_MONOTONIC on Linux) is one
// clock for both: a timestamp taken in the worker and one taken in the bench can be
// subtracted. Each check is followed by its txn_id through:
//   t0  the bench (edge) encodes and publishes SpfCheckRequest
//   tw  the bench's NATS connection writes it to the socket (first write at or after t0)
//   t1  the worker decodes it (consumer's handle: codecs.spfCheck.decode)
//   t2  the worker hands the verdict to its CoalescingReporter (report)
//   t3  the worker writes it on its verdict stream, or starts the ReportSpfBatch / ReportSpf call carrying it
//   t4  the bench's EdgeCallback handler receives it (where the bench stops the clock)
// plus GC pauses and event-loop delay in both processes, and the batch sizes.
// The patches wrap methods in place (prototype or shared object); they add a Map set per
// hop, which is small next to the hops measured.
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

export const hrMs = () => Number(process.hrtime.bigint()) / 1e6;

function gcRecorder() {
  const gcs = [];
  const offset = hrMs() - performance.now();
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([e.startTime + offset, e.duration, e.detail?.kind ?? e.kind]);
  });
  obs.observe({ entryTypes: ["gc"] });
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  let cpu = process.cpuUsage();
  return {
    gcs,
    reset() {
      gcs.length = 0;
      eld.reset();
      cpu = process.cpuUsage();
    },
    /** CPU ms (user + system) since reset */
    cpuMs() {
      const d = process.cpuUsage(cpu);
      return (d.user + d.system) / 1000;
    },
    loop() {
      return { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 };
    },
  };
}

/** In the worker: records t1, t2, t3 per txn_id. dump() returns them with GC and loop figures. */
export function traceWorker(require) {
  const { codecs } = require("@postern/bus");
  const { CoalescingReporter } = require("@postern/service-kit");
  const { EdgeCallbackClient } = require("@postern/proto");
  const t1 = new Map();
  const t2 = new Map();
  const t3 = new Map();
  const batches = [];
  // records only between reset() and dump(), so untraced rounds keep no garbage
  let on = false;
  const decode = codecs.spfCheck.decode;
  codecs.spfCheck.decode = (bytes, subject) => {
    const now = hrMs();
    const r = decode(bytes, subject);
    if (on && r.replyTo?.txnId) t1.set(r.replyTo.txnId, now);
    return r;
  };
  const report = CoalescingReporter.prototype.report;
  CoalescingReporter.prototype.report = function (address, item, deadlineMs) {
    if (on) t2.set(item.txnId, hrMs());
    return report.call(this, address, item, deadlineMs);
  };
  // stream mode: t3 is the write of the verdict's message on the open StreamSpfVerdicts call
  const openStream = CoalescingReporter.prototype.openStream;
  CoalescingReporter.prototype.openStream = function (...args) {
    const s = openStream.apply(this, args);
    const write = s.call.write.bind(s.call);
    s.call.write = (msg, ...rest) => {
      if (on) {
        const now = hrMs();
        for (const v of msg.verdicts) t3.set(v.txnId, now);
        batches.push(msg.verdicts.length);
      }
      return write(msg, ...rest);
    };
    return s;
  };
  const batch = EdgeCallbackClient.prototype.reportSpfBatch;
  EdgeCallbackClient.prototype.reportSpfBatch = function (req, ...rest) {
    if (on) {
      const now = hrMs();
      for (const v of req.verdicts) t3.set(v.txnId, now);
      batches.push(req.verdicts.length);
    }
    return batch.call(this, req, ...rest);
  };
  const one = EdgeCallbackClient.prototype.reportSpf;
  EdgeCallbackClient.prototype.reportSpf = function (req, ...rest) {
    if (on) {
      t3.set(req.txnId, hrMs());
      batches.push(1);
    }
    return one.call(this, req, ...rest);
  };
  const gc = gcRecorder();
  return {
    reset() {
      for (const m of [t1, t2, t3]) m.clear();
      batches.length = 0;
      gc.reset();
      on = true;
    },
    dump() {
      on = false;
      const d = { t1: [...t1], t2: [...t2], t3: [...t3], batches: [...batches], gcs: [...gc.gcs], loop: gc.loop(), cpuMs: gc.cpuMs() };
      for (const m of [t1, t2, t3]) m.clear();
      batches.length = 0;
      return d;
    },
  };
}

/** In the bench: records t0 and t4 per txn_id and the NATS socket writes. */
export function traceEdge(bus) {
  const t0 = new Map();
  const t4 = new Map();
  const writes = [];
  const batches = [];
  const transport = bus.nc.protocol?.transport;
  if (transport?.send) {
    const send = transport.send.bind(transport);
    transport.send = (frame) => {
      if (on) writes.push(hrMs());
      return send(frame);
    };
  }
  const gc = gcRecorder();
  let on = false;
  return {
    published: (txnId) => on && t0.set(txnId, hrMs()),
    received: (verdicts) => {
      if (!on) return;
      const now = hrMs();
      batches.push(verdicts.length);
      for (const v of verdicts) t4.set(v.txnId, now);
    },
    reset() {
      for (const m of [t0, t4]) m.clear();
      writes.length = 0;
      batches.length = 0;
      gc.reset();
      on = true;
    },
    snapshot() {
      on = false;
      const d = { t0: new Map(t0), t4: new Map(t4), writes: [...writes], batches: [...batches], gcs: [...gc.gcs], loop: gc.loop(), cpuMs: gc.cpuMs() };
      for (const m of [t0, t4]) m.clear();
      writes.length = 0;
      return d;
    },
  };
}

const q = (xs, p) => (xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]);
const f = (n) => (n === undefined || Number.isNaN(n) ? "  -  " : n.toFixed(2).padStart(6));

/** Joins both sides and prints the hop breakdown: quantiles of each hop, and the mean hop mix of the slowest 1 %. */
export function printBreakdown(label, edge, worker) {
  const w = { t1: new Map(worker.t1), t2: new Map(worker.t2), t3: new Map(worker.t3) };
  const writes = edge.writes;
  const firstWriteAfter = (t) => {
    let lo = 0;
    let hi = writes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (writes[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return writes[lo];
  };
  const rows = [];
  for (const [txn, t0] of edge.t0) {
    const t4 = edge.t4.get(txn);
    const t1 = w.t1.get(txn);
    const t2 = w.t2.get(txn);
    const t3 = w.t3.get(txn);
    if (t4 === undefined || t1 === undefined || t2 === undefined || t3 === undefined) continue;
    const tw = firstWriteAfter(t0) ?? t1;
    rows.push({ total: t4 - t0, flush: tw - t0, nats: t1 - tw, evaluate: t2 - t1, queue: t3 - t2, grpc: t4 - t3, t0, t4 });
  }
  const hops = ["flush", "nats", "evaluate", "queue", "grpc", "total"];
  console.log(`\n  per-hop breakdown, ${label} (${rows.length} checks joined), ms`);
  console.log(`    hop        p50    p90    p99    max   mean of slowest 1%`);
  rows.sort((a, b) => a.total - b.total);
  const tail = rows.slice(Math.floor(rows.length * 0.99));
  for (const h of hops) {
    const xs = rows.map((r) => r[h]).sort((a, b) => a - b);
    const tailMean = tail.reduce((s, r) => s + r[h], 0) / Math.max(1, tail.length);
    console.log(`    ${h.padEnd(9)} ${f(q(xs, 0.5))} ${f(q(xs, 0.9))} ${f(q(xs, 0.99))} ${f(xs.at(-1))}   ${f(tailMean)}`);
  }
  // Are the slowest 1% spread over the round or a few stalls? Count the 10 ms windows they started in.
  const windows = new Set(tail.map((r) => Math.floor(r.t0 / 10)));
  console.log(`    slowest 1% (${tail.length} checks) started in ${windows.size} distinct 10 ms windows`);
  if (process.env.BENCH_TRACE_TAIL === "1") {
    const start = Math.min(...rows.map((r) => r.t0));
    for (const r of [...tail].sort((a, b) => a.t0 - b.t0)) {
      console.log(`      t=${(r.t0 - start).toFixed(1).padStart(8)} ${hops.map((h) => `${h} ${r[h].toFixed(2)}`).join("  ")}`);
    }
  }
  const gcIn = (gcs, r) => gcs.filter(([s, d]) => s < r.t4 && s + d > r.t0).reduce((s, [, d]) => s + d, 0);
  const tailGc = (gcs) => tail.reduce((s, r) => s + gcIn(gcs, r), 0) / Math.max(1, tail.length);
  const gcSummary = (gcs) => {
    const d = gcs.map((g) => g[1]).sort((a, b) => a - b);
    const kinds = { 1: "scavenge", 2: "mark-compact", 4: "incremental", 8: "weak", 16: "unknown" };
    const by = new Map();
    for (const [, dur, kind] of gcs) {
      const k = kinds[kind] ?? kind;
      const e = by.get(k) ?? { n: 0, max: 0, sum: 0 };
      e.n++;
      e.sum += dur;
      e.max = Math.max(e.max, dur);
      by.set(k, e);
    }
    const parts = [...by].map(([k, e]) => `${e.n} ${k} (sum ${e.sum.toFixed(1)}, max ${e.max.toFixed(1)})`).join(", ");
    return `${gcs.length} GCs [${parts}], p99 ${f(q(d, 0.99))} max ${f(d.at(-1) ?? NaN)} ms`;
  };
  const bs = (b) => {
    const s = [...b].sort((x, y) => x - y);
    return `${b.length} calls, batch p50 ${q(s, 0.5)} p99 ${q(s, 0.99)} max ${s.at(-1)}`;
  };
  console.log(`    bench : ${gcSummary(edge.gcs)}; GC overlapping a slowest-1% check: ${f(tailGc(edge.gcs))} ms on average; loop delay p99 ${f(edge.loop.p99)} max ${f(edge.loop.max)}`);
  console.log(`    worker: ${gcSummary(worker.gcs)}; GC overlapping a slowest-1% check: ${f(tailGc(worker.gcs))} ms on average; loop delay p99 ${f(worker.loop.p99)} max ${f(worker.loop.max)}`);
  const per = (ms) => ((ms * 1000) / Math.max(1, edge.t0.size)).toFixed(0);
  console.log(`    CPU per check: bench ${per(edge.cpuMs)} µs, worker ${per(worker.cpuMs)} µs${edge.natsCpuMs === undefined ? "" : `, nats-server ${per(edge.natsCpuMs)} µs`}`);
  console.log(`    verdict calls: worker sent ${bs(worker.batches)}; bench got ${bs(edge.batches)}`);
}
