// Process helpers for the benchmarks: services as child processes, their process trees and
// memory read from /proc (Linux; figures are 0 elsewhere).
import { spawn } from "node:child_process";
import { existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, cond, timeoutMs = 600_000) {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const serviceLauncher = fileURLToPath(new URL("../outbound/dane-outbound-service.cjs", import.meta.url));
const edgeLauncher = fileURLToPath(new URL("../edge/edge-service.cjs", import.meta.url));

/**
 * A Postern service as its own process, from the TypeScript sources, configured by a JSON
 * file; ready when its log shows `readyLine` (or when `ready()` resolves). Stopped by closing
 * its stdin (a graceful SIGTERM shutdown), so it also ends when the bench dies.
 */
export async function startService(work, name, service, config, { readyLine, ready } = {}) {
  const file = join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const logFile = join(work, `${name}.log`);
  const log = openSync(logFile, "a");
  const profile = process.env.BENCH_PROFILE === "1" ? ["--cpu-prof", `--cpu-prof-dir=${join(work, `${name}-profiles`)}`] : [];
  const args = service === "edge" ? [edgeLauncher] : [serviceLauncher, service];
  const child = spawn(process.execPath, ["--conditions=@postern/source", ...profile, ...args], {
    env: { ...process.env, POSTERN_CONFIG: file },
    stdio: ["pipe", log, log],
  });
  const exited = new Promise((r) => child.once("exit", r));
  let dead = false;
  void exited.then(() => (dead = true));
  const started = readyLine === undefined ? ready : () =>
    waitFor(`${name} to start (${logFile})`, () => existsSync(logFile) && readFileSync(logFile, "utf8").includes(readyLine), 120_000);
  await Promise.race([
    started(),
    exited.then(() => Promise.reject(new Error(`${name} exited at start; see ${logFile}`))),
  ]);
  return {
    name,
    pid: child.pid,
    logFile,
    get alive() {
      return !dead;
    },
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * Parent pid -> child pids, from one scan of /proc, reused for 50 ms: the RSS sampler asks for
 * every group's tree at each sample, and one scan per group (a read of every /proc/N/stat) cost
 * the bench about a fifth of a core, taken from the targets it measures.
 */
let scanned = { at: -Infinity, children: new Map(), living: new Set() };
function scanNow(maxAgeMs) {
  const now = performance.now();
  if (now - scanned.at < maxAgeMs) return scanned;
  const children = new Map();
  const living = new Set();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ")"
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (state === "Z" || state === "X") continue;
    const pid = Number(entry);
    living.add(pid);
    const list = children.get(Number(ppid)) ?? [];
    list.push(pid);
    children.set(Number(ppid), list);
  }
  scanned = { at: now, children, living };
  return scanned;
}

/**
 * Living pids of `root` and all its descendants (edge workers, Postfix's daemons, Haraka's cluster
 * workers), root first, from a scan of /proc at most `maxAgeMs` old (0 for a stop: a fresh one).
 */
export function processTree(root, maxAgeMs = 50) {
  const { children, living } = scanNow(maxAgeMs);
  const out = living.has(root) ? [root] : [];
  for (let i = 0, queue = [root]; i < queue.length; i++) {
    for (const c of children.get(queue[i]) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Resident set size of a process in bytes, now (0 when it is gone). */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) used so far by these processes and by the children they have
 * reaped (Postfix's smtpd processes come and go; master collects their time when they exit).
 */
export function cpuSeconds(pids) {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      sum += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/**
 * Samples the summed RSS of named process groups every `everyMs` and keeps each group's
 * peak. A group is a function returning pids (evaluated at each sample: Postfix forks and
 * retires smtpd processes all the time).
 */
export function startRssSampler(groups, everyMs = 250) {
  const peaks = Object.fromEntries(Object.keys(groups).map((k) => [k, 0]));
  const sample = () => {
    for (const [name, pids] of Object.entries(groups)) {
      let sum = 0;
      for (const pid of pids()) sum += rssBytes(pid);
      if (sum > peaks[name]) peaks[name] = sum;
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    peaks,
    add(name, pids) {
      groups[name] = pids;
      peaks[name] ??= 0;
    },
    stop() {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}
