// The spf service for bench/spf.mjs's round trip, in its own process as it is
// deployed (so the edge's side and the worker each have a core), answering from
// the in-memory zone mix. argv: <nats url>. Prints "ready" once consuming and
// the service's reply-error count on SIGTERM.
import { createRequire } from "node:module";
import { Writable } from "node:stream";
import { traceWorker } from "./spf-trace.mjs";
import { zone } from "./spf-zones.mjs";

const require = createRequire(new URL("../services/spf/package.json", import.meta.url));
// BENCH_REPORTER_FLUSH=immediate: the CoalescingReporter as before per-turn flushing
// (an A/B switch for the bench only; the option is not in the service's config).
// BENCH_REPORTER_MAX_CALLS=n: another maxCallsPerAddress, likewise.
if (process.env.BENCH_REPORTER_FLUSH === "immediate" || process.env.BENCH_REPORTER_MAX_CALLS) {
  const { CoalescingReporter } = require("@postern/service-kit");
  const report = CoalescingReporter.prototype.report;
  CoalescingReporter.prototype.report = function (...args) {
    if (process.env.BENCH_REPORTER_FLUSH === "immediate") this.perTurn = false;
    if (process.env.BENCH_REPORTER_MAX_CALLS) this.maxCalls = Number(process.env.BENCH_REPORTER_MAX_CALLS);
    return report.apply(this, args);
  };
}
// BENCH_TRACE=1: per-hop timestamps, reset and collected by the bench over the IPC channel.
const trace = process.env.BENCH_TRACE === "1" ? traceWorker(require) : undefined;
// BENCH_ALLOC_PROFILE=<file>: sampled allocations (collected ones too) of the worker's whole life.
if (process.env.BENCH_ALLOC_PROFILE) {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  process.on("SIGTERM", async () => {
    const { profile } = await session.post("HeapProfiler.stopSampling");
    (await import("node:fs")).writeFileSync(process.env.BENCH_ALLOC_PROFILE, JSON.stringify(profile));
  });
}
// "cpu-usage": the worker's process.cpuUsage(), for the bench's CPU per check.
process.on("message", (m) => {
  if (m === "cpu-usage") process.send({ "cpu-usage": process.cpuUsage() });
});
if (trace) {
  process.on("message", (m) => {
    if (m !== "trace-reset" && m !== "trace-dump") return;
    if (m === "trace-reset") trace.reset();
    process.send({ [m]: m === "trace-dump" ? trace.dump() : true });
  });
}
const { createZoneDns } = require("@postern/libspf");
const { runService } = require("@postern/service-kit");
const { configSchema, startSpf } = require("@postern/spf");

const memory = { storage: "memory" };
// The zone records every query (for tests); left to grow, that record is most of what
// survives each scavenge and makes the worker's GC pauses a bench artifact.
const dns = createZoneDns(zone);
if (process.env.BENCH_KEEP_QUERIES !== "1") setInterval(() => (dns.queries.length = 0), 200).unref();
const spf = await runService({
  name: "spf",
  schema: configSchema,
  config: {
    log: { level: "warn" },
    nats: { servers: [process.argv[2]], jetstream: { mail: memory, events: memory, spool: memory, kv: memory } },
    spf: {
      grpc: { listen: "127.0.0.1:0" },
      receiver: "bench.test",
      ...(process.env.BENCH_CALLBACK_MODE ? { callback: { mode: process.env.BENCH_CALLBACK_MODE } } : {}),
    },
  },
  env: {},
  installSignalHandlers: false,
  exitOnError: false,
  logDestination: new Writable({ write: (_c, _e, done) => done() }),
  start: (ctx) => startSpf(ctx, { dns }),
});
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void (async () => {
    const replies = await spf.metrics.getSingleMetric("postern_spf_replies_total").get();
    const errors = replies.values.filter((v) => v.labels.outcome === "error").reduce((n, v) => n + v.value, 0);
    await spf.shutdown.trigger("bench finished");
    process.stdout.write(`reply-errors ${errors}\n`);
    process.exit(0);
  })();
});
