import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type * as Testcontainers from "testcontainers";
import { shared, type RuntimeChoice } from "./shared";

/** A server started for tests. */
export interface Backend {
  /** nats://127.0.0.1:4222, redis://127.0.0.1:6379 */
  url: string;
  host: string;
  port: number;
  via: "testcontainers" | "local-binary";
  /** Why this way was chosen ("no Docker engine: ..."). */
  why: string;
  /** "nats-server 2.9.10" or the image, "nats:2.10". */
  version: string;
  /** The server's process id (local binaries only): for tests that kill it with a signal of their choice. */
  pid?: number;
  /** Stops the server and removes its data (not a caller's store directory). Safe to call more than once. */
  stop(): Promise<void>;
}

export const BACKEND_ENV = "POSTERN_TEST_BACKEND";
export const INSTALL_HINT = "apt-get install nats-server redis-server";

/** Loaded on first use only: require("testcontainers") alone costs about 0.7 s. */
export function loadTestcontainers(): typeof Testcontainers {
  // require(), not import(): under Jest, import() stays native and needs --experimental-vm-modules.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("testcontainers") as typeof Testcontainers;
}

/** Docker sockets testcontainers would try; the cheap check before loading it. */
function dockerSockets(env: NodeJS.ProcessEnv): string[] {
  const sockets = ["/var/run/docker.sock", join(homedir(), ".docker/run/docker.sock"), join(homedir(), ".docker/desktop/docker.sock")];
  if (env.XDG_RUNTIME_DIR) sockets.push(join(env.XDG_RUNTIME_DIR, "docker.sock"), join(env.XDG_RUNTIME_DIR, "podman/podman.sock"));
  return sockets;
}

async function probeRuntime(env: NodeJS.ProcessEnv): Promise<{ ok: true; where: string } | { ok: false; why: string }> {
  const socket = dockerSockets(env).find((s) => existsSync(s));
  if (!env.DOCKER_HOST && socket === undefined) {
    return { ok: false, why: "no Docker engine: /var/run/docker.sock missing and DOCKER_HOST unset" };
  }
  const where = env.DOCKER_HOST ? `DOCKER_HOST=${env.DOCKER_HOST}` : (socket as string);
  try {
    await loadTestcontainers().getContainerRuntimeClient();
    return { ok: true, where };
  } catch (err) {
    return { ok: false, why: `no working container runtime at ${where}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Containers when a runtime answers, else local binaries; POSTERN_TEST_BACKEND=local|containers forces one. */
export async function chooseRuntime(env: NodeJS.ProcessEnv = process.env): Promise<RuntimeChoice> {
  const forced = env[BACKEND_ENV];
  if (forced === "local") return { use: "local-binary", why: `${BACKEND_ENV}=local`, forced: true };
  if (forced === "containers") {
    const probe = await probeRuntime(env);
    if (!probe.ok) throw new Error(`${BACKEND_ENV}=containers, but ${probe.why}; start a Docker engine or unset ${BACKEND_ENV}`);
    return { use: "testcontainers", why: `${BACKEND_ENV}=containers`, forced: true };
  }
  if (forced !== undefined && forced !== "") {
    throw new Error(`${BACKEND_ENV} must be "local" or "containers", not ${JSON.stringify(forced)}`);
  }
  const probe = await probeRuntime(env);
  return probe.ok
    ? { use: "testcontainers", why: `container runtime at ${probe.where}`, forced: false }
    : { use: "local-binary", why: probe.why, forced: false };
}

/** The choice between containers and local binaries, made once per process. */
export function runtimeChoice(): Promise<RuntimeChoice> {
  const state = shared();
  if (state.runtime === undefined) {
    const choice = chooseRuntime();
    state.runtime = choice;
    // A failure (bad POSTERN_TEST_BACKEND) is reported again next time, not cached.
    choice.catch(() => {
      if (state.runtime === choice) state.runtime = undefined;
    });
  }
  return state.runtime;
}

/** One stderr line per kind and process: `[postern/testing] nats via local-binary (nats-server 2.9.10): ...`. */
export function announce(kind: string, backend: Pick<Backend, "via" | "why" | "version">): void {
  const state = shared();
  if (state.announced.has(kind)) return;
  state.announced.add(kind);
  process.stderr.write(`[postern/testing] ${kind} via ${backend.via} (${backend.version}): ${backend.why}\n`);
}
