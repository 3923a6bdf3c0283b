// Self-check of the Haraka reference (./haraka.mjs), run by hand: node bench/pipeline/haraka-check.mjs
// For each variant (one process; cluster with 2 workers) and size (1 KB, 100 KB): start Haraka,
// one smtp-source run (20 sessions), check that every message was answered 250 after DATA by
// queue/discard (bench_count), print msgs/s and peak RSS, stop, and check no process is left.
// Env: CHECK_MESSAGES (1 KB runs, default 2000), CHECK_MESSAGES_LARGE (100 KB runs, default 300),
// CHECK_NODES (comma list, default "0,2"; 0 = one process, "1" = Haraka's own default: master + 1 worker).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postfixToolsMissing, runSource } from "../edge/postfix.mjs";
import { harakaUnavailable, startHaraka } from "./haraka.mjs";

/** A port the kernel handed out (plain node, no workspace packages: runs without a build). */
const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.once("error", reject);
  });

const SESSIONS = 20;
const runs = [
  { size: 1024, messages: Number(process.env.CHECK_MESSAGES ?? "2000") },
  { size: 102_400, messages: Number(process.env.CHECK_MESSAGES_LARGE ?? "300") },
];
const variants = (process.env.CHECK_NODES ?? "0,2").split(",").map((n) => (n.trim() === "cpus" ? "cpus" : Number(n)));

const fail = (msg) => {
  console.error(`FAIL: ${msg}`);
  process.exitCode = 1;
};
const peakRssMiB = (pid) => {
  try {
    const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
};
const harakaLeft = () => {
  try {
    // [h]araka: the pattern does not match pgrep's own command line (nor this script's, which says haraka-check)
    return execFileSync("pgrep", ["-af", "[h]araka/node_modules/Haraka/bin/haraka"], { encoding: "utf8" }).trim();
  } catch {
    return ""; // pgrep exits 1 when nothing matches
  }
};

const missing = postfixToolsMissing() ?? harakaUnavailable();
if (missing) {
  console.error(`skipped: ${missing}`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), "haraka-check-"));
for (const nodes of variants) {
  for (const { size, messages } of runs) {
    const port = await freePort();
    const dir = join(work, `n${nodes}-s${size}`);
    const t0 = performance.now();
    const h = await startHaraka(dir, port, { nodes });
    const startMs = performance.now() - t0;
    const pids = h.pids();
    let line = `Haraka ${h.version} nodes=${nodes} (${pids.length} process${pids.length > 1 ? "es" : ""}), ${size} B x ${messages}: `;
    try {
      const { perSecond, seconds } = await runSource(port, { messages, sessions: SESSIONS, size });
      const rss = pids.reduce((sum, pid) => sum + peakRssMiB(pid), 0);
      const c = await h.counts();
      line += `${perSecond.toFixed(0)} msgs/s (${seconds.toFixed(1)} s), started in ${startMs.toFixed(0)} ms, peak RSS ${rss.toFixed(0)} MiB, ${c.messages} discarded after DATA (${(c.bytes / c.messages || 0).toFixed(0)} B each)`;
      if (c.messages !== messages) fail(`${c.messages} of ${messages} messages accepted after DATA`);
      if (c.bytes / messages < size) fail(`only ${c.bytes / messages} DATA bytes per message, expected >= ${size}`);
    } finally {
      await h.stop();
      console.log(line);
    }
    const left = harakaLeft();
    if (left) fail(`Haraka processes left after stop():\n${left}`);
  }
}
const left = harakaLeft();
console.log(left ? "haraka processes remain" : "no haraka process remains");
if (process.exitCode) console.log(`work dir kept: ${work}`);
else rmSync(work, { recursive: true, force: true });
