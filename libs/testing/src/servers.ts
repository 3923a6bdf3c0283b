import { announce, type Backend, INSTALL_HINT, runtimeChoice } from "./backend";
import { startContainer, type ContainerSpec } from "./containers";
import { binaryVersion, findBinary, type LocalPlace, startLocal, type LocalSpec } from "./local";

interface ServerSpec {
  local: LocalSpec;
  container: ContainerSpec;
}

const nats: ServerSpec = {
  local: {
    kind: "nats",
    bin: "nats-server",
    binEnv: "POSTERN_NATS_SERVER_BIN",
    scheme: "nats",
    args: (port, dir) => ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir],
    ready: /Server is ready/,
    version: (out) => `nats-server ${/v?(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? "unknown version"}`,
  },
  container: { image: "nats:2.10", command: ["-js"], containerPort: 4222, scheme: "nats", ready: /Server is ready/ },
};

const redis: ServerSpec = {
  local: {
    kind: "redis",
    bin: "redis-server",
    binEnv: "POSTERN_REDIS_SERVER_BIN",
    scheme: "redis",
    args: (port, dir) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    ready: /Ready to accept connections/,
    version: (out) => `redis-server ${/v=(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? "unknown version"}`,
  },
  container: {
    image: "redis:7",
    command: ["redis-server", "--save", "", "--appendonly", "no"],
    containerPort: 6379,
    scheme: "redis",
    ready: /Ready to accept connections/,
  },
};

async function start(spec: ServerSpec, place: LocalPlace = {}): Promise<Backend> {
  const placed = place.port !== undefined || place.dir !== undefined;
  // a chosen port or store directory is a local process's (a container has its own of both)
  const choice = placed ? { use: "local-binary" as const, why: "a port or store directory was given" } : await runtimeChoice();
  let backend: Backend;
  if (choice.use === "testcontainers") {
    backend = await startContainer(spec.container, choice.why);
  } else {
    const path = findBinary(spec.local);
    if (path === undefined) {
      const lookedFor = process.env[spec.local.binEnv] ? `${spec.local.binEnv}=${process.env[spec.local.binEnv]} is not executable` : `${spec.local.bin} is not installed (PATH, /usr/sbin)`;
      throw new Error(
        `cannot start ${spec.local.kind} for tests: ${choice.why}, and ${lookedFor}. ` +
          `Install the servers (${INSTALL_HINT}) or start a Docker engine.`,
      );
    }
    backend = await startLocal(spec.local, path, choice.why, await binaryVersion(spec.local, path), place);
  }
  announce(spec.local.kind, backend);
  return backend;
}

/** Where startNats runs nats-server when a test must restart it as it was (kill -9, then the same port and store). */
export interface NatsPlace {
  /** this port instead of a free one */
  port?: number;
  /** this JetStream store directory (-sd), kept by stop(): the caller creates and removes it */
  storeDir?: string;
}

/**
 * nats-server with JetStream (-js) and a temporary store directory, on 127.0.0.1 and a free port.
 * With `place` it is always the local binary, on that port and store; Backend.pid is set.
 */
export function startNats(place: NatsPlace = {}): Promise<Backend> {
  return start(nats, { port: place.port, dir: place.storeDir });
}

/** redis-server without persistence (--save "" --appendonly no), on 127.0.0.1 and a free port. */
export function startRedis(): Promise<Backend> {
  return start(redis);
}
