// pnpm bench:pipeline — issue 14's full-pipeline benchmark, from the TypeScript sources:
//   node --conditions=@postern/source -r ./bench/ts-register.cjs bench/pipeline.mjs
//
// Postfix's smtp-source (20 sessions, a new connection per message, 1 KB and 100 KB
// messages) against, in the same run, on the same machine, interleaved round by round:
//   - smtp-sink alone: accepts and discards, no work at all (the ceiling);
//   - a reference Postfix with the Debian SPF policy daemon (policyd-spf, python) delivering
//     to discard: (bench/pipeline/postfix-spf.mjs), and the same Postfix without it;
//   - Haraka 3.3.4 delivering to queue/discard, one process and one per core
//     (bench/pipeline/haraka.mjs);
//   - Postern, the whole inbound path (bench/pipeline/postern.mjs): edge (PROXY off) → SPF at
//     RCPT and DMARC at end of DATA (real checks against the bench's DNS server,
//     bench/pipeline/dns.mjs) → MAIL record in JetStream (PubAck before 250) → dane-outbound
//     → smtp-sink, outcomes to delivery-events. Its rate counts until the last message is
//     delivered (msg:complete), not only accepted; its records are checked (SPF pass in
//     Received-SPF, DMARC pass) so the checks really ran.
// Alongside the load, a probe client (bench/pipeline/probe.mjs) times single messages: its
// p50/p99 against Postern minus the same against smtp-sink is the latency the edge adds.
// Prints msgs/s per target (median of the rounds), ratios, latency, peak RSS per service and
// CPU seconds per 1,000 messages; BENCH_JSON=file also writes the figures as JSON (pnpm bench).
//
// Options (env): BENCH_ROUNDS (3), BENCH_SESSIONS (20), BENCH_SIZES ("1024,102400"),
// BENCH_MESSAGES_1024 (5000), BENCH_MESSAGES_102400 (1000), BENCH_TARGETS (all: "sink,
// postfix-spf,postfix,haraka,haraka-cluster,postern"), BENCH_EDGE_WORKERS ("auto"),
// BENCH_KEEP=1 (keep logs), BENCH_PROFILE=1 (services with --cpu-prof).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus, freemem, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { postfixToolsMissing, referencePostfixUnavailable, runSource, startReferencePostfix, startSink } from "./edge/postfix.mjs";
import { startBenchDns } from "./pipeline/dns.mjs";
import { startPostern } from "./pipeline/postern.mjs";
import { percentile, startProbe } from "./pipeline/probe.mjs";
import { cpuShares, cpuTicks } from "./host-cpu.mjs";
import { cpuSeconds, processTree, startRssSampler, waitFor } from "./pipeline/procs.mjs";

const require = createRequire(new URL("../services/edge/package.json", import.meta.url));
const { freePort, startNats } = require("@postern/testing");
const { codecs, connectBus, natsConfigSchema, subjects } = require("@postern/bus");
const { pino } = require("pino");

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "3");
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? "20");
const SIZES = (process.env.BENCH_SIZES ?? "1024,102400").split(",").map(Number);
const messagesFor = (size) => Number(process.env[`BENCH_MESSAGES_${size}`] ?? (size >= 65536 ? "1000" : "5000"));
const TARGETS = new Set((process.env.BENCH_TARGETS ?? "sink,postfix-spf,postfix,haraka,haraka-cluster,postern").split(",").map((t) => t.trim()));
const GOALS = { postfixSpf: 2, haraka: 1 };

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "-");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (bytes) => `${fmt(bytes / 1048576)} MiB`;

/** Optional references: their modules report why they cannot run here instead of failing the bench. */
async function optionalModule(path, unavailableExport) {
  try {
    const mod = await import(path);
    return { mod, why: mod[unavailableExport]?.() };
  } catch (err) {
    return { mod: undefined, why: `${path}: ${err.message}` };
  }
}

async function main() {
  const missing = postfixToolsMissing();
  if (missing !== undefined) throw new Error(missing);
  const work = mkdtempSync(join(tmpdir(), "postern-bench-pipeline-"));
  chmodSync(work, 0o755); // Postfix's daemons run as the postfix user and must reach their queue in here
  const stops = [];
  const skipped = [];
  const result = { machine: machine(), sessions: SESSIONS, rounds: ROUNDS, sizes: [], rss: {}, skipped };
  try {
    const nats = await startNats();
    stops.push(() => nats.stop());
    const bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "bench-pipeline", logger: pino({ level: "silent" }) });
    stops.push(() => bus.drain());
    const dns = await startBenchDns(join(work, "dns"), { freePort });
    stops.push(() => dns.stop());
    result.machine.nats = nats.version;

    const targets = [];
    const sampler = startRssSampler({});
    stops.push(async () => sampler.stop());

    if (TARGETS.has("sink")) {
      const port = await freePort();
      const sink = await startSink(port, join(work, "smtp-sink.log"));
      stops.push(() => sink.stop());
      targets.push({ key: "sink", label: "smtp-sink (ceiling)", port });
    }
    if (TARGETS.has("postfix-spf")) {
      const { mod, why } = await optionalModule("./pipeline/postfix-spf.mjs", "referencePostfixSpfUnavailable");
      if (why !== undefined) skipped.push(`Postfix + SPF policy: ${why}`);
      else {
        const port = await freePort();
        const pf = await mod.startReferencePostfixSpf(join(work, "postfix-spf"), port, { resolver: dns.address });
        stops.push(() => pf.stop());
        sampler.add("postfix-spf", () => pf.pids());
        targets.push({ key: "postfix-spf", label: `Postfix ${pf.version} + policyd-spf ${pf.policydVersion ?? ""} -> discard`.replace("  ", " "), port, pids: () => pf.pids() });
      }
    }
    if (TARGETS.has("postfix")) {
      const why = referencePostfixUnavailable();
      if (why !== undefined) skipped.push(`Postfix: ${why}`);
      else {
        const port = await freePort();
        const pf = await startReferencePostfix(join(work, "postfix"), port);
        stops.push(() => pf.stop());
        targets.push({ key: "postfix", label: `Postfix ${pf.version} -> discard (no SPF)`, port });
      }
    }
    for (const key of ["haraka", "haraka-cluster"]) {
      if (!TARGETS.has(key)) continue;
      const { mod, why } = await optionalModule("./pipeline/haraka.mjs", "harakaUnavailable");
      if (why !== undefined) {
        skipped.push(`${key}: ${why}`);
        continue;
      }
      const port = await freePort();
      const nodes = key === "haraka" ? undefined : availableParallelism();
      const hk = await mod.startHaraka(join(work, key), port, nodes === undefined ? {} : { nodes });
      stops.push(() => hk.stop());
      sampler.add(key, () => hk.pids());
      targets.push({ key, label: `Haraka ${hk.version} -> discard${nodes === undefined ? "" : `, ${nodes} processes`}`, port, pids: () => hk.pids() });
    }

    let postern;
    let completed = 0;
    const tally = { records: 0, spfPass: 0, dmarcPass: 0, other: [] };
    if (TARGETS.has("postern")) {
      const deliverPort = await freePort();
      const deliverSink = await startSink(deliverPort, join(work, "delivery-sink.log"));
      stops.push(() => deliverSink.stop());
      postern = await startPostern(work, {
        natsUrl: nats.url,
        natsPid: nats.pid,
        dnsServer: dns.server,
        deliverTo: deliverPort,
        freePort,
        edgeWorkers: process.env.BENCH_EDGE_WORKERS === undefined ? "auto" : process.env.BENCH_EDGE_WORKERS === "auto" ? "auto" : Number(process.env.BENCH_EDGE_WORKERS),
      });
      stops.push(() => postern.stop());
      for (const s of postern.services) sampler.add(`postern:${s.name}`, s.pids);
      const allPids = () => postern.services.flatMap((s) => s.pids());
      targets.push({ key: "postern", label: "Postern (edge+SPF+DMARC+JetStream+dane-outbound)", port: postern.port, pids: allPids, postern: true });
      const sub = bus.nc.subscribe("postern.event.msg.complete", { callback: () => (completed += 1) });
      stops.push(async () => sub.unsubscribe());
      // Every record the edge stores: were SPF and DMARC really evaluated, and passed?
      const records = bus.nc.subscribe(subjects.mailQueued, {
        callback: (_err, msg) => {
          const r = codecs.mail.decode(msg.data);
          tally.records += 1;
          if (r.dmarcStatus === "accept") tally.dmarcPass += 1;
          else if (tally.other.length < 5) tally.other.push(`dmarc ${r.dmarcStatus || "(none)"}`);
          const inline = r.body?.location?.$case === "inline" ? Buffer.from(r.body.location.value.subarray(0, 4096)).toString("latin1") : undefined;
          if (inline === undefined || /^Received-SPF: pass /im.test(inline)) tally.spfPass += 1;
          else if (tally.other.length < 5) tally.other.push(`spf: ${/^Received-SPF: .*/im.exec(inline)?.[0] ?? "no Received-SPF"}`);
        },
      });
      stops.push(async () => records.unsubscribe());
    }

    console.log(`Full-pipeline benchmark: smtp-source -s ${SESSIONS}, a connection per message, median of ${ROUNDS} interleaved rounds`);
    console.log(`  ${result.machine.cores} cores (${result.machine.cpu}), ${result.machine.memory}, node ${process.version}, ${nats.version}, DNS: unbound on ${dns.server}`);
    for (const s of skipped) console.log(`  skipped: ${s}`);

    const run = async (t, size, messages) => {
      const cpu0 = t.pids ? cpuSeconds(t.pids()) : 0;
      const serviceCpu0 = t.postern ? postern.services.map((s) => cpuSeconds(s.pids())) : [];
      const done0 = completed;
      const ticks0 = cpuTicks();
      const probe = startProbe(t.port, size);
      const t0 = performance.now();
      const src = await runSource(t.port, { messages, sessions: SESSIONS, size, timeoutMs: 900_000 });
      const { samples, errors } = await probe.stop();
      let seconds = src.seconds;
      const total = messages + samples.length;
      if (t.postern) {
        await waitFor(`Postern to deliver ${total} messages`, () => {
          if (!postern.alive()) throw new Error(`a Postern service died; logs in ${work}`);
          return completed - done0 >= total;
        }, 900_000);
        seconds = (performance.now() - t0) / 1000;
      }
      const cpu = t.pids ? cpuSeconds(t.pids()) - cpu0 : NaN;
      const cpuByService = t.postern ? Object.fromEntries(postern.services.map((s, i) => [s.name, (1000 * (cpuSeconds(s.pids()) - serviceCpu0[i])) / total])) : undefined;
      return {
        cpuByService, host: cpuShares(ticks0), perSecond: total / seconds, acceptPerSecond: (messages + samples.length) / src.seconds, seconds, samples, probeErrors: errors, cpuPerThousand: (1000 * cpu) / total };
    };

    for (const size of SIZES) {
      const messages = messagesFor(size);
      console.log(`\n${size} byte messages, ${messages} per run`);
      for (const t of targets) if (t.key !== "sink") await run(t, size, Math.min(messages, 1000)); // JIT, caches, smtpd/policyd processes
      const runs = Object.fromEntries(targets.map((t) => [t.key, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        const line = [];
        for (const t of targets) {
          const r = await run(t, size, messages);
          runs[t.key].push(r);
          line.push(`${t.key} ${fmt(r.perSecond)}${r.host ? ` (steal ${r.host.steal.toFixed(0)} %)` : ""}`);
        }
        console.log(`  round ${round}: ${line.join(", ")} msgs/s`);
      }
      const rows = targets.map((t) => {
        const rs = runs[t.key];
        const samples = rs.flatMap((r) => r.samples);
        const totals = samples.map((s) => s.total);
        return {
          key: t.key,
          label: t.label,
          perSecond: median(rs.map((r) => r.perSecond)),
          acceptPerSecond: median(rs.map((r) => r.acceptPerSecond)),
          runs: rs.map((r) => r.perSecond),
          p50: percentile(totals, 50),
          p99: percentile(totals, 99),
          rcptP50: percentile(samples.map((s) => s.rcpt), 50),
          dotP50: percentile(samples.map((s) => s.dot), 50),
          probes: samples.length,
          probeErrors: rs.reduce((a, r) => a + r.probeErrors, 0),
          cpuPerThousand: median(rs.map((r) => r.cpuPerThousand)),
          ...(rs[0]?.cpuByService ? { cpuByService: Object.fromEntries(Object.keys(rs[0].cpuByService).map((k) => [k, median(rs.map((r) => r.cpuByService[k]))])) } : {}),
        };
      });
      const by = Object.fromEntries(rows.map((r) => [r.key, r]));
      const ratios = {};
      if (by.postern) {
        if (by["postfix-spf"]) ratios.postfixSpf = by.postern.perSecond / by["postfix-spf"].perSecond;
        const harakas = ["haraka", "haraka-cluster"].filter((k) => by[k]);
        if (harakas.length > 0) {
          const best = harakas.reduce((a, k) => (by[k].perSecond > by[a].perSecond ? k : a));
          ratios.haraka = by.postern.perSecond / by[best].perSecond;
          ratios.harakaTarget = best;
        }
        if (by.sink) ratios.addedP50 = by.postern.p50 - by.sink.p50;
        if (by.sink) ratios.addedP99 = by.postern.p99 - by.sink.p99;
      }
      result.sizes.push({ size, messages, rows, ratios });
      printSize(rows, ratios);
    }
    if (postern) {
      result.records = { ...tally };
      console.log(`\n  Postern records checked: ${tally.records}; SPF pass ${tally.spfPass}, DMARC pass (\$dmarc_status accept) ${tally.dmarcPass}${tally.other.length ? `; other: ${tally.other.join("; ")}` : ""}`);
      if (tally.dmarcPass !== tally.records || tally.spfPass !== tally.records) throw new Error("Postern did not pass SPF and DMARC on every message: the comparison would not be like for like");
    }
    result.rss = sampler.stop();
    console.log("\n  peak RSS (sum over each one's processes):");
    for (const [name, bytes] of Object.entries(result.rss)) console.log(`    ${name.padEnd(30)} ${mib(bytes).padStart(10)}`);
    const goals = result.sizes.flatMap((s) => [
      s.ratios.postfixSpf === undefined ? undefined : s.ratios.postfixSpf >= GOALS.postfixSpf,
      s.ratios.haraka === undefined ? undefined : s.ratios.haraka >= GOALS.haraka,
    ]).filter((g) => g !== undefined);
    result.goalsMet = goals.length > 0 && goals.every(Boolean);
    console.log(`\n  goals (every size): Postern >= ${GOALS.postfixSpf}x Postfix+SPF and >= ${GOALS.haraka}x Haraka (its best mode): ${goals.length === 0 ? "not measured" : result.goalsMet ? "met" : "NOT met"}`);
    if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(result, null, 2));
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err) => console.error(`bench:pipeline: cleanup: ${err.message}`));
    if (process.env.BENCH_KEEP === "1") console.log(`  work dir kept: ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

function printSize(rows, ratios) {
  console.log("");
  console.log(`  ${"target".padEnd(58)} ${"msgs/s".padStart(7)} ${"accept/s".padStart(8)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"CPU s/1k".padStart(8)}   runs`);
  for (const r of rows) {
    console.log(`  ${r.label.padEnd(58)} ${fmt(r.perSecond).padStart(7)} ${fmt(r.acceptPerSecond).padStart(8)} ${fmt(r.p50, 1).padStart(7)} ${fmt(r.p99, 1).padStart(7)} ${fmt(r.cpuPerThousand, 2).padStart(8)}   ${r.runs.map((x) => fmt(x)).join(", ")}${r.probeErrors ? ` (${r.probeErrors} probe errors)` : ""}`);
  }
  for (const r of rows) if (r.cpuByService) console.log(`  ${r.key} CPU s per 1,000 messages by service: ${Object.entries(r.cpuByService).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(", ")}`);
  if (ratios.postfixSpf !== undefined) console.log(`  Postern / Postfix+SPF: ${fmt(ratios.postfixSpf, 2)}x (goal >= ${GOALS.postfixSpf}x)`);
  if (ratios.haraka !== undefined) console.log(`  Postern / Haraka (${ratios.harakaTarget}): ${fmt(ratios.haraka, 2)}x (goal >= ${GOALS.haraka}x)`);
  if (ratios.addedP50 !== undefined) console.log(`  latency the edge adds per message (probe, vs smtp-sink): p50 ${fmt(ratios.addedP50, 1)} ms, p99 ${fmt(ratios.addedP99, 1)} ms`);
}

function machine() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "?",
    memory: `${fmt(totalmem() / 2 ** 30)} GiB (${fmt(freemem() / 2 ** 30)} GiB free)`,
    node: process.version,
    date: new Date().toISOString(),
  };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench:pipeline failed: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
