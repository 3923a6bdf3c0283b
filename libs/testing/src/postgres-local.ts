import { execFile, spawn, type ChildProcess } from "node:child_process";
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { spawnGuard } from "./local";
import { freePort } from "./ports";
import { shared, type LiveProcess } from "./shared";

/**
 * Postgres from the Debian packages (apt-get install postgresql): initdb into a temporary
 * directory, then the postgres binary itself on 127.0.0.1 and a free port, trust
 * authentication, no Unix socket, durability off (fsync, synchronous_commit). initdb refuses
 * to run as root, so as root both run as the `postgres` user the package creates (or
 * POSTERN_POSTGRES_USER): Node's spawn switches uid/gid, so the pid we hold is the server's.
 */

export const POSTGRES_BIN_DIR_ENV = "POSTERN_POSTGRES_BIN_DIR";
export const POSTGRES_USER_ENV = "POSTERN_POSTGRES_USER";
export const POSTGRES_INSTALL_HINT = "apt-get install postgresql";

const DEBIAN_ROOT = "/usr/lib/postgresql";
const READY = /database system is ready to accept connections/;
const BIND_FAILED = /could not bind|Address already in use|could not create any TCP\/IP sockets/i;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const ATTEMPTS = 3;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const hasServer = (dir: string): boolean => executable(join(dir, "initdb")) && executable(join(dir, "postgres"));

/** The directory holding initdb, postgres and psql: $POSTERN_POSTGRES_BIN_DIR, Debian's newest /usr/lib/postgresql/N/bin, or PATH. */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env[POSTGRES_BIN_DIR_ENV];
  if (explicit) return hasServer(explicit) ? explicit : undefined;
  const versions = existsSync(DEBIAN_ROOT)
    ? readdirSync(DEBIAN_ROOT)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const candidates = [...versions.map((v) => join(DEBIAN_ROOT, v, "bin")), ...(env.PATH ?? "").split(delimiter).filter((d) => d !== "")];
  return candidates.find(hasServer);
}

/** uid/gid to run as: undefined when not root; the postgres user's ids when root. */
export function serverIdentity(env: NodeJS.ProcessEnv = process.env): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = env[POSTGRES_USER_ENV] || "postgres";
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(`cannot start postgres for tests as root: initdb refuses root and there is no user ${JSON.stringify(user)} (${POSTGRES_INSTALL_HINT} creates "postgres"; or set ${POSTGRES_USER_ENV})`);
  }
  return { uid: Number(uid), gid: Number(gid) };
}

export function postgresVersion(binDir: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(join(binDir, "postgres"), ["--version"], { timeout: 5000 }, (err, stdout) => {
      resolve(err ? "postgres" : `postgres ${/(\d+(?:\.\d+)+)/.exec(stdout)?.[1] ?? "unknown version"}`);
    });
  });
}

function run(path: string, args: string[], opts: { identity?: { uid: number; gid: number }; cwd: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(path, args, { ...opts.identity, cwd: opts.cwd, timeout: 60_000, env: { ...process.env, LC_ALL: "C" } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path} failed: ${err.message}\n${`${stdout}${stderr}`.slice(-4000)}`));
      else resolve();
    });
  });
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

/** Resolves once the server says it is ready; rejects with its output (and whether the port was taken) otherwise. */
function waitReady(child: ChildProcess): Promise<void> {
  let output = "";
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString("utf8")).slice(-8192);
      if (READY.test(output)) done();
    };
    const onExit = (code: number | null, signal: string | null): void =>
      done(Object.assign(new Error(`postgres exited (${signal ?? `code ${code}`}) before it was ready; its output ends:\n${output.trim()}`), { portTaken: BIND_FAILED.test(output) }));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done(new Error(`postgres was not ready after ${READY_TIMEOUT_MS} ms; its output ends:\n${output.trim()}`));
    }, READY_TIMEOUT_MS);
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

export interface LocalPostgres {
  port: number;
  stop(): Promise<void>;
}

/** initdb + postgres in a fresh temporary directory; the guard process removes both if this process dies. */
export async function startLocalPostgres(binDir: string): Promise<LocalPostgres> {
  const identity = serverIdentity();
  const dir = mkdtempSync(join(tmpdir(), "postern-postgres-"));
  if (identity) chownSync(dir, identity.uid, identity.gid);
  const data = join(dir, "data");
  try {
    await run(join(binDir, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"], { identity, cwd: dir });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ["-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];
    const child = spawn(join(binDir, "postgres"), args, { ...identity, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    try {
      await waitReady(child);
    } catch (err) {
      await waitExit(child, STOP_GRACE_MS);
      if ((err as { portTaken?: boolean }).portTaken && attempt < ATTEMPTS) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return track(child, port, dir);
  }
}

function track(child: ChildProcess, port: number, dir: string): LocalPostgres {
  const state = shared();
  const pid = child.pid as number;
  // The guard sends SIGTERM (smart shutdown: our clients are gone when this process is), then SIGKILL.
  const guard = spawnGuard(pid, dir);
  const live: LiveProcess = { pid, guardPid: guard?.pid, dir };
  state.live.add(live);
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.resume();
    (stream as { unref?: () => void } | null)?.unref?.();
  }
  const stopGuard = (): void => {
    guard?.kill("SIGKILL");
    guard?.stdin?.destroy();
  };
  child.once("exit", stopGuard);
  let stopping: Promise<void> | undefined;
  return {
    port,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGINT"); // fast shutdown: disconnects clients, no waiting for them
          if (!(await waitExit(child, STOP_GRACE_MS))) {
            child.kill("SIGKILL");
            await waitExit(child, STOP_GRACE_MS);
          }
        }
        stopGuard();
        state.live.delete(live);
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
