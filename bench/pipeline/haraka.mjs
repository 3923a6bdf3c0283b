// Haraka 3.3.4 → discard, the Node.js reference MTA of bench/pipeline, after
// ../shared/labs/peers/haraka-peer.sh: plugins lab_accept_all (rcpt hook → OK) and queue/discard
// (discards only with YES_REALLY_DO_DISCARD=1), log level warn, listening on 127.0.0.1 only.
//
// Haraka is pinned in ./haraka/package.json + package-lock.json and installed on first use
// (`npm ci`) into ./haraka/node_modules, never by the workspace: CI and `pnpm install` do not pay
// for it. Its dependencies declare node >= 22; it runs on Node 20 (npm only warns).
//
// Processes: smtp.ini `nodes` unset means 1 in Haraka 3 — a cluster master plus ONE worker, not
// one process (the lab script's "one process" is really two). So startHaraka writes `nodes=0`
// by default (no node:cluster, one process that accepts itself); { nodes: N | "cpus" } is the
// cluster mode: a master that accepts and hands each connection to one of N workers.
//
// A local plugin, bench_count, counts per process the messages whose queue hook answered OK
// (after DATA, 250 sent) and their bytes: counts() sums them, so a bench can check that every
// message smtp-source sent was accepted after DATA, not rejected earlier.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep, waitPort } from "../edge/postfix.mjs";
import { processTree } from "./procs.mjs";

const PKG = fileURLToPath(new URL("./haraka/", import.meta.url));
const HARAKA = join(PKG, "node_modules", "Haraka");
const BIN = join(HARAKA, "bin", "haraka");
const PINNED = JSON.parse(readFileSync(join(PKG, "package.json"), "utf8")).dependencies.Haraka;

const installedVersion = () => {
  try {
    return JSON.parse(readFileSync(join(HARAKA, "package.json"), "utf8")).version;
  } catch {
    return undefined;
  }
};

let unavailable; // cached: undefined = not checked yet, "" = usable, otherwise the reason

/**
 * Why no Haraka reference can run here, or undefined. Installs the pinned Haraka on first call
 * when ./haraka/node_modules lacks it (or holds another version): `npm ci` from the committed
 * lock (about 10–15 s), `npm install` when there is no lock. Synchronous, cached per process.
 */
export function harakaUnavailable() {
  if (unavailable === undefined) unavailable = check() ?? "";
  return unavailable || undefined;
}

function check() {
  if (installedVersion() === PINNED && existsSync(BIN)) return undefined;
  try {
    execFileSync("npm", ["--version"], { stdio: "ignore" });
  } catch {
    return "npm is not installed (Debian package npm)";
  }
  const ci = existsSync(join(PKG, "package-lock.json"));
  const args = ci ? ["ci", "--no-audit", "--no-fund", "--loglevel=error"] : ["install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error"];
  const logDir = mkdtempSync(join(tmpdir(), "haraka-npm-"));
  const logFile = join(logDir, "npm.log");
  const started = performance.now();
  process.stderr.write(`haraka: npm ${args[0]} Haraka ${PINNED} into ${join(PKG, "node_modules")} ... `);
  try {
    const out = openSync(logFile, "w");
    execFileSync("npm", args, { cwd: PKG, stdio: ["ignore", out, out], timeout: 600_000 });
  } catch (err) {
    process.stderr.write("failed\n");
    const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-1500) : "";
    return `npm ${args[0]} of Haraka ${PINNED} failed (${err.signal ?? `exit ${err.status}`}): ${log}`;
  }
  process.stderr.write(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  rmSync(logDir, { recursive: true, force: true });
  if (installedVersion() !== PINNED || !existsSync(BIN)) return `npm ${args[0]} finished but ${BIN} (Haraka ${PINNED}) is missing`;
  return undefined;
}

const isAlive = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
};

function setConfig(inst, port, nodes, logLevel) {
  const config = join(inst, "config");
  mkdirSync(join(inst, "plugins"), { recursive: true });
  for (const p of ["lab_accept_all.js", "bench_count.js"]) copyFileSync(join(PKG, "plugins", p), join(inst, "plugins", p));
  writeFileSync(join(config, "plugins"), "lab_accept_all\nqueue/discard\nbench_count\n");
  writeFileSync(join(config, "smtp.ini"), `[main]\nlisten=127.0.0.1:${port}\nnodes=${nodes}\nsmtp_utf8=true\n`);
  writeFileSync(join(config, "log.ini"), `[main]\nlevel=${logLevel}\ntimestamps=true\nformat=default\n`);
  writeFileSync(join(config, "me"), "haraka-ref.bench.test\n");
  writeFileSync(join(config, "host_list"), "");
  // `databytes` (the lab's file) is no longer read by Haraka 3: the size limit is connection.ini [max] bytes
  writeFileSync(join(config, "databytes"), "104857600\n");
  const connIni = join(config, "connection.ini");
  const conn = existsSync(connIni) ? readFileSync(connIni, "utf8") : "[max]\nbytes=26214400\n";
  writeFileSync(connIni, conn.replace(/^bytes=\d+$/m, "bytes=104857600"));
}

/**
 * Haraka → discard on 127.0.0.1:port, everything under `dir` (instance dir/haraka, log
 * dir/haraka.log). `nodes`: undefined or 0 = one process; N or "cpus" = node:cluster master + N
 * workers. `logLevel` (default "warn"). Resolves once every process listens; call
 * harakaUnavailable() first.
 */
export async function startHaraka(dir, port, { nodes = 0, logLevel = "warn" } = {}) {
  const reason = harakaUnavailable();
  if (reason) throw new Error(`Haraka unavailable: ${reason}`);
  const inst = join(dir, "haraka");
  const state = join(dir, "haraka-state");
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(inst, "config"))) execFileSync(process.execPath, [BIN, "-i", inst], { stdio: "ignore" });
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state);
  setConfig(inst, port, nodes, logLevel);
  const workers = nodes === "cpus" ? availableParallelism() : Number(nodes);
  const expectReady = workers > 0 ? 1 + workers : 1;

  const logFile = join(dir, "haraka.log");
  const out = openSync(logFile, "a");
  const child = spawn(process.execPath, [BIN, "-c", inst], {
    cwd: inst,
    stdio: ["ignore", out, out],
    env: { ...process.env, YES_REALLY_DO_DISCARD: "1", HARAKA_BENCH_STATE: state },
  });
  const master = child.pid;
  const exited = new Promise((r) => child.once("exit", r));
  // never leave a Haraka behind if the bench exits without stop() (a throw, process.exit)
  const onExit = () => {
    for (const pid of processTree(master, 0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  };
  process.on("exit", onExit);

  const readyCount = () => readdirSync(state).filter((f) => f.startsWith("ready-")).length;
  const ready = (async () => {
    await waitPort(port, 60_000);
    for (const end = Date.now() + 60_000; readyCount() < expectReady; await sleep(50)) {
      if (Date.now() > end) throw new Error(`Haraka: ${readyCount()} of ${expectReady} processes ready after 60 s; see ${logFile}`);
    }
  })();
  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    // master first: a cluster master forks a new worker for each one killed by a signal. It has no
    // SIGTERM handler (only SIGINT, and SIGTERM as pid 1), so SIGTERM ends it at once; its workers
    // then exit on the closed IPC channel; whatever is left after 5 s gets SIGKILL.
    const tree = processTree(master, 0);
    try {
      process.kill(master, "SIGTERM");
    } catch {
      // already gone
    }
    await Promise.race([exited, sleep(5000)]);
    for (let i = 0; i < 50 && tree.some(isAlive); i++) await sleep(100);
    for (const pid of tree.filter(isAlive)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await exited;
    for (let i = 0; i < 50 && tree.some(isAlive); i++) await sleep(100);
    process.off("exit", onExit);
  }
  try {
    await Promise.race([ready, exited.then((code) => Promise.reject(new Error(`Haraka exited at start (${code}): ${readFileSync(logFile, "utf8").slice(-2000)}`)))]);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    version: installedVersion(),
    /** master + workers (living), for peak RSS from /proc/PID/status VmHWM */
    pids: () => processTree(master),
    /** messages answered 250 by queue/discard after DATA, and their DATA bytes (dot-stuffed, incl. the final ".") */
    async counts() {
      await sleep(300); // each process writes its count at most 100 ms after its last message
      let messages = 0;
      let bytes = 0;
      for (const f of readdirSync(state).filter((n) => n.startsWith("count-") && n.endsWith(".json"))) {
        const c = JSON.parse(readFileSync(join(state, f), "utf8"));
        messages += c.messages;
        bytes += c.bytes;
      }
      return { messages, bytes };
    },
    stop,
  };
}
