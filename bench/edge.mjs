// pnpm bench:edge — issue 4's SMTP edge benchmark, from the TypeScript sources:
//   node --conditions=@postern/source -r ./bench/ts-register.cjs bench/edge.mjs
//
// Postfix's smtp-source (20 sessions, 1 KB messages, a new connection per message)
// against, in the same run and interleaved round by round:
//   - smtp-sink: accepts and discards, no work at all (the ceiling);
//   - a reference Postfix delivering to discard: (its smtpd fsyncs each queue file before 250);
//   - the edge (verdict services off) with durable enqueue: the MAIL record published to
//     JetStream (a real nats-server, file storage) and its PubAck awaited before each 250;
//     once with one process, once with `workers` = every core (node:cluster).
// Every edge run is checked against the MAIL stream: each message smtp-source sent is in it.
// Prints msgs/s per target (median of the rounds) and the ratios. Needs the Debian package
// postfix (scripts/bootstrap.sh); the reference Postfix needs root (skipped otherwise).
//
// Options (env): BENCH_MESSAGES (per run, default 5000), BENCH_ROUNDS (default 3),
// BENCH_SESSIONS (20), BENCH_SIZE (1024), BENCH_WORKERS (edge variants, default "1,auto"),
// BENCH_KEEP=1 (keep the work dir: edge logs, Postfix's maillog), BENCH_PROFILE=1 (edge runs
// with --cpu-prof; profiles in the work dir).
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { postfixToolsMissing, referencePostfixUnavailable, runSource, startReferencePostfix, startSink, waitPort } from "./edge/postfix.mjs";

const require = createRequire(new URL("../services/edge/package.json", import.meta.url));
const { freePort, startNats } = require("@postern/testing");
const { connectBus, natsConfigSchema, streamNames } = require("@postern/bus");
const { pino } = require("pino");

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? "5000");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "3");
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? "20");
const SIZE = Number(process.env.BENCH_SIZE ?? "1024");
const WORKERS = (process.env.BENCH_WORKERS ?? "1,auto").split(",").map((w) => w.trim());
const GOAL = 1.5;

const fmt = (n, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const launcher = fileURLToPath(new URL("./edge/edge-service.cjs", import.meta.url));

/** The edge as its own process tree (as deployed), stopped by closing its stdin. */
async function startEdge(work, natsUrl, workers) {
  const port = await freePort();
  const name = `edge-w${workers}`;
  const config = {
    log: { level: "info" },
    nats: { servers: [natsUrl] },
    edge: {
      smtp_listen: [`127.0.0.1:${port}`],
      grpc: { listen: "127.0.0.1:0" },
      http: { port: 0 },
      hostname: "edge.bench.test",
      local_domains: ["bench.test"],
      spf_enable: false,
      ...(workers === "1" ? {} : { workers: workers === "auto" ? "auto" : Number(workers) }),
    },
  };
  const configFile = join(work, `${name}.json`);
  writeFileSync(configFile, JSON.stringify(config));
  const log = openSync(join(work, `${name}.log`), "a");
  const profile = process.env.BENCH_PROFILE === "1" ? ["--cpu-prof", `--cpu-prof-dir=${join(work, `${name}-profiles`)}`] : [];
  const child = spawn(process.execPath, ["--conditions=@postern/source", ...profile, launcher], {
    env: { ...process.env, POSTERN_CONFIG: configFile },
    stdio: ["pipe", log, log],
  });
  const exited = new Promise((r) => child.once("exit", r));
  await Promise.race([waitPort(port, 60_000), exited.then(() => Promise.reject(new Error(`${name} exited at start; see ${join(work, `${name}.log`)}`)))]);
  return {
    name,
    port,
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

async function main() {
  const missing = postfixToolsMissing();
  if (missing !== undefined) throw new Error(missing);
  const noPostfix = referencePostfixUnavailable();
  const work = mkdtempSync(join(tmpdir(), "postern-bench-edge-"));
  chmodSync(work, 0o755); // Postfix's daemons run as the postfix user and must reach their queue in here
  const stops = [];
  try {
    const nats = await startNats();
    stops.push(() => nats.stop());
    const bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "bench-edge", logger: pino({ level: "silent" }) });
    stops.push(() => bus.drain());

    const targets = [];
    const sinkPort = await freePort();
    const sink = await startSink(sinkPort, join(work, "smtp-sink.log"));
    stops.push(() => sink.stop());
    targets.push({ key: "sink", label: "smtp-sink (ceiling)", port: sinkPort });
    let postfixVersion;
    if (noPostfix === undefined) {
      const port = await freePort();
      const pf = await startReferencePostfix(join(work, "postfix"), port);
      stops.push(() => pf.stop());
      postfixVersion = pf.version;
      targets.push({ key: "postfix", label: `Postfix ${pf.version} -> discard`, port });
    }
    const workerCount = (w) => (w === "auto" ? availableParallelism() : Number(w));
    for (const w of WORKERS) {
      const edge = await startEdge(work, nats.url, w);
      stops.push(() => edge.stop());
      const n = workerCount(w);
      targets.push({ key: `edge-${n}w`, label: `edge, ${n} worker${n === 1 ? "" : "s"}${w === "auto" ? " (auto)" : ""}`, port: edge.port, edge: true });
    }

    const stored = async () => (await bus.jsm.streams.info(streamNames.mail)).state.messages;
    const run = async (t, messages) => {
      const before = t.edge ? await stored() : 0;
      const r = await runSource(t.port, { messages, sessions: SESSIONS, size: SIZE });
      if (t.edge) {
        const got = (await stored()) - before;
        if (got !== messages) throw new Error(`${t.label}: smtp-source sent ${messages} messages, the MAIL stream got ${got}`);
      }
      return r.perSecond;
    };

    console.log(`SMTP edge benchmark: smtp-source -s ${SESSIONS} -l ${SIZE} -m ${MESSAGES}, a connection per message, median of ${ROUNDS} interleaved rounds`);
    console.log(`  ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}, ${nats.version} (JetStream file storage)`);
    for (const t of targets) if (t.edge) await run(t, Math.min(MESSAGES, 2_000)); // JIT warm-up
    const rates = Object.fromEntries(targets.map((t) => [t.key, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      const line = [];
      for (const t of targets) {
        const rate = await run(t, MESSAGES);
        rates[t.key].push(rate);
        line.push(`${t.key} ${fmt(rate)}`);
      }
      const ratios = rates.postfix === undefined ? [] : targets.filter((t) => t.edge).map((t) => `${t.key} ${fmt(rates[t.key][round - 1] / rates.postfix[round - 1], 2)}x`);
      console.log(`  round ${round}: ${line.join(", ")} msgs/s${ratios.length > 0 ? `; vs Postfix: ${ratios.join(", ")}` : ""}`);
    }

    const med = Object.fromEntries(targets.map((t) => [t.key, median(rates[t.key])]));
    const ref = med.postfix;
    console.log("");
    console.log(`  ${"target".padEnd(34)} ${"msgs/s".padStart(8)}   ${"of sink".padStart(7)}   ${"x Postfix".padStart(9)}   runs`);
    for (const t of targets) {
      const vsSink = `${fmt((100 * med[t.key]) / med.sink)} %`;
      const vsPostfix = ref === undefined ? "-" : `${fmt(med[t.key] / ref, 2)}x`;
      console.log(`  ${t.label.padEnd(34)} ${fmt(med[t.key]).padStart(8)}   ${vsSink.padStart(7)}   ${vsPostfix.padStart(9)}   ${rates[t.key].map((r) => fmt(r)).join(", ")}`);
    }
    console.log("");
    if (ref === undefined) {
      console.log(`  reference Postfix skipped: ${noPostfix}`);
    } else {
      const best = Math.max(...targets.filter((t) => t.edge).map((t) => med[t.key]));
      console.log(`  goal: edge >= ${GOAL}x the reference Postfix (${postfixVersion}): best edge ${fmt(best / ref, 2)}x, ${best / ref >= GOAL ? "met" : "NOT met"}`);
    }
    console.log("  every edge run: all messages in the MAIL stream (PubAck before 250), verdict services off");
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err) => console.error(`bench:edge: cleanup: ${err.message}`));
    if (process.env.BENCH_KEEP === "1") console.log(`  work dir kept: ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench:edge failed: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
