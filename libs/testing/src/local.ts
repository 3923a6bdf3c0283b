import { execFile, spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { type Backend } from "./backend";
import { freePort } from "./ports";
import { shared, type LiveProcess } from "./shared";

/** How to run one server binary. */
export interface LocalSpec {
  kind: "nats" | "redis";
  /** Binary name, looked up in PATH and the sbin directories (nats-server lives in /usr/sbin on Debian). */
  bin: string;
  /** Environment variable that may name the binary's path instead. */
  binEnv: string;
  scheme: string;
  args(port: number, dir: string): string[];
  /** Printed (on stdout or stderr) once the server accepts clients. */
  ready: RegExp;
  /** `bin --version` output -> "nats-server 2.9.10". */
  version(output: string): string;
}

const EXTRA_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL = 8192;
const ATTEMPTS = 3;

/** Absolute path of the spec's binary, or undefined when it is not installed. */
export function findBinary(spec: LocalSpec, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env[spec.binEnv];
  if (explicit) return isExecutable(explicit) ? explicit : undefined;
  const dirs = [...(env.PATH ?? "").split(delimiter).filter((d) => d !== ""), ...EXTRA_DIRS];
  return dirs.map((d) => join(d, spec.bin)).find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function binaryVersion(spec: LocalSpec, path: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(path, ["--version"], { timeout: 5000 }, (err, stdout, stderr) => {
      resolve(err ? spec.bin : spec.version(`${stdout}${stderr}`));
    });
  });
}

/**
 * Processes are killed by stop(); by an 'exit' hook (plain Node; Jest gives tests a copy of
 * `process` whose 'exit' never fires); and in every case by a guard: a shell that reads a pipe
 * only this process writes to, so it sees end-of-file however this process ends (even SIGKILL)
 * and then kills the server.
 */
function installExitHook(): void {
  const state = shared();
  if (state.exitHookInstalled) return;
  state.exitHookInstalled = true;
  process.once("exit", () => {
    for (const p of state.live) killNow(p);
  });
}

function killNow(p: LiveProcess): void {
  for (const pid of [p.pid, p.guardPid]) {
    if (pid === undefined) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (p.dir !== "") rmSync(p.dir, { recursive: true, force: true });
}

/** $1: server pid, $2: its temporary directory. Waits for end-of-file, then SIGTERM, up to 5 s, SIGKILL, rm -rf. */
const GUARD_SCRIPT = [
  "while read -r _; do :; done",
  'kill -TERM "$1" 2>/dev/null',
  "i=0",
  'while kill -0 "$1" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done',
  'kill -KILL "$1" 2>/dev/null',
  'if [ -n "$2" ]; then sleep 0.2; rm -rf -- "$2"; fi',
].join("\n");

export function spawnGuard(pid: number, dir = ""): ChildProcess | undefined {
  try {
    const guard = spawn("/bin/sh", ["-c", GUARD_SCRIPT, "postern-testing-guard", String(pid), dir], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    guard.on("error", () => undefined);
    guard.stdin?.on("error", () => undefined);
    guard.unref();
    (guard.stdin as { unref?: () => void } | null)?.unref?.();
    return guard;
  } catch {
    return undefined;
  }
}

class OutputTail {
  private text = "";
  push(chunk: Buffer): void {
    this.text = (this.text + chunk.toString("utf8")).slice(-OUTPUT_TAIL);
  }
  toString(): string {
    return this.text;
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  if (await waitExit(child, STOP_GRACE_MS)) return;
  child.kill("SIGKILL");
  await waitExit(child, STOP_GRACE_MS);
}

class StartError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
    this.name = "StartError";
  }
}

async function launch(spec: LocalSpec, path: string, port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(path, spec.args(port, dir), { stdio: ["ignore", "pipe", "pipe"] });
  const tail = new OutputTail();
  child.stdout?.on("data", (c: Buffer) => tail.push(c));
  child.stderr?.on("data", (c: Buffer) => tail.push(c));
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string): void => {
      cleanup();
      const out = tail.toString().trim();
      reject(new StartError(`${spec.bin} ${why}${out ? `; its output ends:\n${out}` : ""}`, /address already in use/i.test(out)));
    };
    const onData = (): void => {
      if (spec.ready.test(tail.toString())) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null): void => fail(`exited (${signal ?? `code ${code}`}) before it was ready`);
    const onError = (err: Error): void => fail(`could not be started: ${err.message}`);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(`was not ready after ${READY_TIMEOUT_MS} ms`);
    }, READY_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
  return child;
}

/** Where a local server runs when the caller chooses (a restart on the same port and store). */
export interface LocalPlace {
  /** this port instead of a free one */
  port?: number;
  /** this data directory, owned by the caller: kept when the server stops */
  dir?: string;
}

/** Starts the binary on a free 127.0.0.1 port with a fresh temporary directory (or where `place` says). */
export async function startLocal(spec: LocalSpec, path: string, why: string, version: string, place: LocalPlace = {}): Promise<Backend> {
  installExitHook();
  const state = shared();
  for (let attempt = 1; ; attempt++) {
    const port = place.port ?? (await freePort());
    const ownDir = place.dir === undefined;
    const dir = place.dir ?? mkdtempSync(join(tmpdir(), `postern-${spec.kind}-`));
    // the guard and stop() remove only a directory this function made
    const removable = ownDir ? dir : "";
    let child: ChildProcess;
    try {
      child = await launch(spec, path, port, dir);
    } catch (err) {
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      // Someone took the port between freePort() and the bind: pick another.
      if (err instanceof StartError && err.addressInUse && attempt < ATTEMPTS && place.port === undefined) continue;
      throw err;
    }
    const pid = child.pid as number;
    const guard = spawnGuard(pid, removable);
    const live: LiveProcess = { pid, guardPid: guard?.pid, dir: removable };
    state.live.add(live);
    // Do not keep the test process alive for a server someone forgot to stop; the guard reaps it.
    // Keep reading its output (a Go server dies of SIGPIPE when its stderr pipe closes) without holding the event loop.
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
    const stopGuard = (): void => {
      guard?.kill("SIGKILL");
      guard?.stdin?.destroy();
    };
    child.once("exit", stopGuard);

    let stopping: Promise<void> | undefined;
    const host = "127.0.0.1";
    return {
      url: `${spec.scheme}://${host}:${port}`,
      host,
      port,
      via: "local-binary",
      why,
      version,
      pid,
      stop: () =>
        (stopping ??= (async () => {
          await terminate(child);
          stopGuard();
          state.live.delete(live);
          if (ownDir) rmSync(dir, { recursive: true, force: true });
        })()),
    };
  }
}
