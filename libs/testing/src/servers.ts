import { announce, type Backend, INSTALL_HINT, runtimeChoice } from "./backend";
import { startContainer, type ContainerSpec } from "./containers";
import { binaryVersion, findBinary, startLocal, type LocalSpec } from "./local";

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

async function start(spec: ServerSpec): Promise<Backend> {
  const choice = await runtimeChoice();
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
    backend = await startLocal(spec.local, path, choice.why, await binaryVersion(spec.local, path));
  }
  announce(spec.local.kind, backend);
  return backend;
}

/** nats-server with JetStream (-js) and a temporary store directory, on 127.0.0.1 and a free port. */
export function startNats(): Promise<Backend> {
  return start(nats);
}

/** redis-server without persistence (--save "" --appendonly no), on 127.0.0.1 and a free port. */
export function startRedis(): Promise<Backend> {
  return start(redis);
}
