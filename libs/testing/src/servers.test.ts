import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer } from "node:net";
import { chooseRuntime, INSTALL_HINT } from "./backend";
import { findBinary, spawnGuard, startLocal, type LocalSpec } from "./local";
import { freePort } from "./ports";
import { startNats, startRedis } from "./servers";

/** Sends `send` (if any) and resolves with what the server wrote until `until` matches. */
function talk(port: number, send: string | undefined, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      if (send !== undefined) socket.write(send);
    });
    socket.on("data", (d: string) => {
      got += d;
      if (until.test(got)) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on("error", reject);
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`timeout; got ${JSON.stringify(got)}`));
    });
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(true));
  });
}

const dockerAbsent = !process.env.DOCKER_HOST && !existsSync("/var/run/docker.sock");

describe("startNats / startRedis", () => {
  it("starts nats-server with JetStream and stops it", async () => {
    const nats = await startNats();
    try {
      expect(nats.url).toBe(`nats://${nats.host}:${nats.port}`);
      expect(["testcontainers", "local-binary"]).toContain(nats.via);
      expect(nats.why).not.toBe("");
      if (dockerAbsent && !process.env.POSTERN_TEST_BACKEND) {
        expect(nats).toMatchObject({ via: "local-binary", why: "no Docker engine: /var/run/docker.sock missing and DOCKER_HOST unset" });
        expect(nats.version).toMatch(/^nats-server \d+\.\d+\.\d+$/);
      }
      const info = await talk(nats.port, undefined, /\r\n/);
      expect(info).toMatch(/^INFO \{/);
      expect(JSON.parse(info.slice(5))).toMatchObject({ jetstream: true });
    } finally {
      await nats.stop();
    }
    expect(await refused(nats.port)).toBe(true);
    await nats.stop(); // twice is fine
  });

  it("restarts nats-server on the same port and store after kill -9, and leaves the caller's store in place", async () => {
    const storeDir = mkdtempSync(join(tmpdir(), "postern-nats-place-"));
    try {
      const port = await freePort();
      const first = await startNats({ port, storeDir });
      expect(first).toMatchObject({ port, via: "local-binary" });
      process.kill(first.pid as number, "SIGKILL");
      await new Promise((r) => setTimeout(r, 200));
      expect(await refused(port)).toBe(true);
      const second = await startNats({ port, storeDir });
      expect(second.pid).not.toBe(first.pid);
      expect(JSON.parse((await talk(port, undefined, /\r\n/)).slice(5))).toMatchObject({ jetstream: true });
      await second.stop();
      await first.stop(); // the killed one: nothing left to do
      expect(existsSync(join(storeDir, "jetstream"))).toBe(true);
    } finally {
      rmSync(storeDir, { recursive: true, force: true });
    }
  });

  it("starts redis-server without persistence", async () => {
    const redis = await startRedis();
    try {
      expect(redis.url).toBe(`redis://${redis.host}:${redis.port}`);
      expect(await talk(redis.port, "PING\r\n", /\r\n/)).toBe("+PONG\r\n");
      const save = await talk(redis.port, "CONFIG GET save\r\n", /save\r\n\$0\r\n\r\n|save\r\n\$\d+\r\n.+\r\n/);
      expect(save).toContain("save\r\n$0\r\n");
    } finally {
      await redis.stop();
    }
    expect(await refused(redis.port)).toBe(true);
  });

  it("says what to install when the binary is missing", async () => {
    const saved = process.env.POSTERN_NATS_SERVER_BIN;
    process.env.POSTERN_NATS_SERVER_BIN = "/nonexistent/nats-server";
    try {
      if ((await chooseRuntime()).use === "local-binary") {
        await expect(startNats()).rejects.toThrow(INSTALL_HINT);
      }
    } finally {
      if (saved === undefined) delete process.env.POSTERN_NATS_SERVER_BIN;
      else process.env.POSTERN_NATS_SERVER_BIN = saved;
    }
  });
});

describe("chooseRuntime", () => {
  it("honours POSTERN_TEST_BACKEND=local", async () => {
    await expect(chooseRuntime({ POSTERN_TEST_BACKEND: "local" })).resolves.toEqual({
      use: "local-binary",
      why: "POSTERN_TEST_BACKEND=local",
      forced: true,
    });
  });

  it("refuses an unknown POSTERN_TEST_BACKEND", async () => {
    await expect(chooseRuntime({ POSTERN_TEST_BACKEND: "docker" })).rejects.toThrow(/must be "local" or "containers", not "docker"/);
  });

  (dockerAbsent ? it : it.skip)("falls back to local binaries when no Docker engine is there", async () => {
    await expect(chooseRuntime({})).resolves.toEqual({
      use: "local-binary",
      why: "no Docker engine: /var/run/docker.sock missing and DOCKER_HOST unset",
      forced: false,
    });
  });

  (dockerAbsent ? it : it.skip)("fails loudly when containers are forced but none can run", async () => {
    await expect(chooseRuntime({ POSTERN_TEST_BACKEND: "containers" })).rejects.toThrow(/POSTERN_TEST_BACKEND=containers, but no Docker engine/);
  });
});

describe("findBinary", () => {
  const spec: LocalSpec = {
    kind: "nats",
    bin: "nats-server",
    binEnv: "POSTERN_NATS_SERVER_BIN",
    scheme: "nats",
    args: () => [],
    ready: /x/,
    version: () => "",
  };
  it("looks in the sbin directories even when PATH lacks them", () => {
    const found = findBinary(spec, { PATH: "" });
    if (existsSync("/usr/sbin/nats-server")) expect(found).toBe("/usr/sbin/nats-server");
  });
  it("takes an explicit path from the environment, and only if it is executable", () => {
    expect(findBinary(spec, { POSTERN_NATS_SERVER_BIN: "/bin/sh" })).toBe("/bin/sh");
    expect(findBinary(spec, { POSTERN_NATS_SERVER_BIN: "/nonexistent" })).toBeUndefined();
  });
});

describe("startLocal", () => {
  function shellSpec(script: string, seen: { dir?: string; port?: number }): LocalSpec {
    return {
      kind: "nats",
      bin: "sh",
      binEnv: "UNUSED",
      scheme: "fake",
      args: (port, dir) => {
        seen.port = port;
        seen.dir = dir;
        return ["-c", script];
      },
      ready: /ready/,
      version: () => "sh",
    };
  }

  it("waits for the ready line, then stop() removes the temporary directory", async () => {
    const seen: { dir?: string } = {};
    const backend = await startLocal(shellSpec("echo ready; exec sleep 60", seen), "/bin/sh", "test", "sh");
    expect(backend).toMatchObject({ via: "local-binary", why: "test", host: "127.0.0.1" });
    expect(existsSync(seen.dir!)).toBe(true);
    await backend.stop();
    expect(existsSync(seen.dir!)).toBe(false);
  });

  it("reports an early exit with the end of the output", async () => {
    const seen: { dir?: string } = {};
    await expect(startLocal(shellSpec("echo boom >&2; exit 3", seen), "/bin/sh", "test", "sh")).rejects.toThrow(/exited \(code 3\)[\s\S]*boom/);
    expect(existsSync(seen.dir!)).toBe(false);
  });

  it("escalates to SIGKILL when SIGTERM is ignored", async () => {
    const backend = await startLocal(shellSpec("trap '' TERM; echo ready; while :; do sleep 0.1; done", {}), "/bin/sh", "test", "sh");
    const t0 = Date.now();
    await backend.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4900);
  }, 15_000);
});

describe("spawnGuard", () => {
  it("kills the process once the pipe from this process closes", async () => {
    const child = spawn("sleep", ["60"], { stdio: "ignore" });
    const exited = new Promise<string | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    const guard = spawnGuard(child.pid!);
    expect(guard).toBeDefined();
    guard!.stdin!.destroy(); // what the kernel does when this process dies
    await expect(exited).resolves.toBe("SIGTERM");
  });
});

describe("freePort", () => {
  it("returns a port that can be bound", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await new Promise<void>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => s.close(() => resolve()));
    });
  });
});
