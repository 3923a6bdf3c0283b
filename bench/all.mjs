// pnpm bench — every benchmark, one after another, on a machine that should otherwise be
// quiet; then bench/RESULTS.md: the machine, the full-pipeline table (bench/pipeline.mjs,
// figures from its BENCH_JSON output) and each benchmark's own summary, all from this run.
//
// Each benchmark prints ratios against references it measures itself in the same run, so
// the figures stay comparable on a shared, noisy machine; the load average before and after
// each one is recorded next to it, with the host's steal time (bench/host-cpu.mjs).
// Options: BENCH_ONLY="pipeline,edge" runs a subset; BENCH_RESULTS=path writes elsewhere; every BENCH_* option of the benchmarks passes through.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { cpuShares, cpuTicks, formatShares } from "./host-cpu.mjs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const BENCHES = [
  { name: "pipeline", script: "bench:pipeline", what: "full inbound pipeline vs Postfix + SPF policy, Postfix, Haraka, smtp-sink (issue 14)" },
  { name: "edge", script: "bench:edge", what: "SMTP edge alone, durable enqueue, vs Postfix -> discard (issue 4)" },
  { name: "outbound", script: "bench:outbound", what: "dane-outbound delivery vs Postfix relaying to smtp-sink (issue 9)" },
  { name: "spf", script: "bench:spf", what: "libspf vs mailauth, and the edge -> NATS -> spf -> gRPC round trip (issue 7)" },
  { name: "dmarc", script: "bench:dmarc", what: "DKIM + DMARC evaluation vs mailauth (issue 8)" },
  { name: "events", script: "bench:events", what: "delivery events to a gRPC subscriber and a webhook (issue 11)" },
];

const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
const resultsFile = process.env.BENCH_RESULTS ?? join(root, "bench", "RESULTS.md");
const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "-");
const load = () => loadavg().map((l) => l.toFixed(2)).join(" / ");

function tryRun(file, args) {
  try {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch {
    return undefined;
  }
}

function machine() {
  const os = tryRun("sh", ["-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]) ?? "?";
  return [
    ["CPU", `${cpus().length} × ${cpus()[0]?.model ?? "?"}`],
    ["Memory", `${fmt(totalmem() / 2 ** 30)} GiB`],
    ["OS", `${os}, Linux ${release()}`],
    ["Node.js", process.version],
    ["nats-server", tryRun("nats-server", ["--version"]) ?? "?"],
    ["Postfix", tryRun("/usr/sbin/postconf", ["-d", "-h", "mail_version"]) ?? "not installed"],
    ["policyd-spf", tryRun("dpkg-query", ["-W", "-f", "${Version}", "postfix-policyd-spf-python"]) ?? "not installed"],
    ["unbound", tryRun("/usr/sbin/unbound", ["-V"])?.split("\n")[0] ?? "?"],
    ["Commit", tryRun("git", ["-C", root, "rev-parse", "--short", "HEAD"]) ?? "?"],
  ];
}

function runBench(bench, env) {
  return new Promise((resolve) => {
    const started = Date.now();
    const loadBefore = load();
    const ticksBefore = cpuTicks();
    console.log(`\n=== pnpm ${bench.script}: ${bench.what}`);
    const child = spawn("pnpm", ["-s", bench.script], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const take = (stream, sink) =>
      stream.on("data", (d) => {
        output += d;
        sink.write(d);
      });
    take(child.stdout, process.stdout);
    take(child.stderr, process.stderr);
    child.once("exit", (code, signal) =>
      resolve({ ...bench, code: code ?? signal, output, seconds: (Date.now() - started) / 1000, loadBefore, loadAfter: load(), host: cpuShares(ticksBefore) }),
    );
  });
}

/** The benchmark's own summary: what it printed, minus start-up noise. */
function summary(output) {
  return output
    .split("\n")
    .filter((l) => !l.startsWith("[postern/testing]") && l.trim() !== "")
    .slice(-60)
    .join("\n");
}

function pipelineTables(p) {
  const out = [];
  for (const s of p.sizes) {
    const pf = s.rows.find((r) => r.key === "postfix-spf");
    const harakaBest = s.rows.filter((r) => r.key.startsWith("haraka")).sort((a, b) => b.perSecond - a.perSecond)[0];
    out.push(`### ${fmt(s.size)}-byte messages (${fmt(s.messages)} per run, ${p.sessions} sessions, median of ${p.rounds} rounds)`, "");
    out.push("| target | msgs/s | accepted/s | × Postfix+SPF | × Haraka (best) | message time p50 / p99 (ms) | CPU s per 1,000 msgs | runs (msgs/s) |");
    out.push("|---|---:|---:|---:|---:|---:|---:|---|");
    for (const r of s.rows) {
      const cells = [
        r.label.replace(/\|/g, "\\|"),
        fmt(r.perSecond),
        fmt(r.acceptPerSecond),
        pf ? `${fmt(r.perSecond / pf.perSecond, 2)}×` : "-",
        harakaBest ? `${fmt(r.perSecond / harakaBest.perSecond, 2)}×` : "-",
        `${fmt(r.p50, 1)} / ${fmt(r.p99, 1)}`,
        fmt(r.cpuPerThousand, 2),
        r.runs.map((x) => fmt(x)).join(", "),
      ];
      out.push(`| ${cells.join(" | ")} |`);
    }
    out.push("");
    if (s.ratios.addedP50 !== undefined) out.push(`Latency the edge adds per message (probe under load, Postern minus smtp-sink): **p50 ${fmt(s.ratios.addedP50, 1)} ms, p99 ${fmt(s.ratios.addedP99, 1)} ms**.`, "");
    const postern = s.rows.find((r) => r.cpuByService);
    if (postern) out.push(`Postern CPU seconds per 1,000 messages by service: ${Object.entries(postern.cpuByService).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(", ")}.`, "");
    const goals = [];
    if (s.ratios.postfixSpf !== undefined) goals.push(`Postern / Postfix+SPF **${fmt(s.ratios.postfixSpf, 2)}×** (goal ≥ 2×: ${s.ratios.postfixSpf >= 2 ? "met" : "not met"})`);
    if (s.ratios.haraka !== undefined) goals.push(`Postern / Haraka (${s.ratios.harakaTarget}) **${fmt(s.ratios.haraka, 2)}×** (goal ≥ 1×: ${s.ratios.haraka >= 1 ? "met" : "not met"})`);
    if (goals.length) out.push(`${goals.join("; ")}.`, "");
  }
  out.push("Peak RSS (sum over each target's processes, sampled every 250 ms):", "", "| process group | peak RSS |", "|---|---:|");
  for (const [name, bytes] of Object.entries(p.rss)) out.push(`| ${name} | ${fmt(bytes / 2 ** 20)} MiB |`);
  out.push("");
  if (p.records) out.push(`Postern records checked: ${fmt(p.records.records)}; SPF pass ${fmt(p.records.spfPass)}, DMARC pass ${fmt(p.records.dmarcPass)} (every message was really checked).`, "");
  for (const s of p.skipped) out.push(`Skipped: ${s}`, "");
  return out;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), "postern-bench-all-"));
  const pipelineJson = join(work, "pipeline.json");
  const started = new Date();
  const loadStart = load();
  const results = [];
  try {
    for (const bench of BENCHES) {
      if (only && !only.includes(bench.name)) continue;
      results.push(await runBench(bench, { ...process.env, ...(bench.name === "pipeline" ? { BENCH_JSON: pipelineJson } : {}) }));
    }
    const lines = [
      "# Benchmark results",
      "",
      `Written by \`pnpm bench\` (bench/all.mjs) on ${started.toISOString().slice(0, 16).replace("T", " ")} UTC, in one run of ${fmt((Date.now() - started.getTime()) / 60000, 1)} minutes. Every ratio compares figures measured in this same run on this same machine; load-generating tools (smtp-source, the benchmark drivers) share the cores with the software measured.`,
      "",
      "## Machine",
      "",
      "| | |",
      "|---|---|",
      ...machine().map(([k, v]) => `| ${k} | ${String(v).replace(/\|/g, "\\|")} |`),
      `| Load average at start (1/5/15 min) | ${loadStart} |`,
      "",
    ];
    if (existsSync(pipelineJson)) {
      lines.push("## Full pipeline (`pnpm bench:pipeline`)", "");
      lines.push(
        "smtp-source from Postfix (a connection per message) against each target in turn, interleaved round by round. Postern's rate counts until the last message was delivered by dane-outbound to an smtp-sink (`msg:complete`), not only accepted; the references' rates are their acceptance. Message time: a probe client sending one message at a time alongside the load, connect to the reply to the final dot.",
        "",
      );
      lines.push(...pipelineTables(JSON.parse(readFileSync(pipelineJson, "utf8"))));
    }
    lines.push("## Each benchmark's summary", "");
    for (const r of results) {
      lines.push(`### \`pnpm ${r.script}\` — ${r.what}`, "");
      lines.push(`${r.code === 0 ? "Completed" : `**Exit ${r.code}**`} in ${fmt(r.seconds)} s; load average ${r.loadBefore} before, ${r.loadAfter} after${r.host ? `; ${formatShares(r.host)} over the run (steal: CPU time the hypervisor gave to other guests)` : ""}.`, "");
      lines.push("```", summary(r.output), "```", "");
    }
    writeFileSync(resultsFile, `${lines.join("\n")}\n`);
    console.log(`\npnpm bench: wrote ${resultsFile}`);
    const failed = results.filter((r) => r.code !== 0);
    if (failed.length > 0) {
      console.log(`pnpm bench: ${failed.map((r) => `${r.script} exited ${r.code}`).join(", ")}`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`pnpm bench failed: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
