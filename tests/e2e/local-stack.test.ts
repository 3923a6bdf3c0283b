import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@postern/testing";
import { descendantsOf, isAlive } from "../support/processes";

const run = promisify(execFile);
const repo = resolve(__dirname, "../..");

/**
 * The README's start command, as a newcomer runs it: scripts/start-local.sh with
 * local nats-server and redis-server, swaks against the edge, the message in the
 * Maildir, its event through `postern events tail`, then Ctrl-C (SIGINT to the
 * foreground process group) must leave no process behind.
 */
describe("scripts/start-local.sh", () => {
  const built = ["edge", "spf", "dmarc", "dane-outbound", "ocsp-refresher", "delivery-events"].every((s) => existsSync(join(repo, "services", s, "dist", "main.js")));

  it("starts the stack, delivers a swaks message to the Maildir, and stops cleanly on Ctrl-C", async () => {
    if (!built) throw new Error("the services are not built: run `pnpm build` first (scripts/test.sh does)");
    const data = mkdtempSync(join(tmpdir(), "postern-stack-"));
    const [nats, redis, smtp, events] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      POSTERN_SKIP_SETUP: "1",
      POSTERN_DATA_DIR: data,
      POSTERN_NATS_PORT: String(nats),
      POSTERN_REDIS_PORT: String(redis),
      POSTERN_SMTP_PORT: String(smtp),
      POSTERN_EVENTS_PORT: String(events),
      POSTERN_EDGE__GRPC__LISTEN: "127.0.0.1:0",
      POSTERN_SPF__GRPC__LISTEN: "127.0.0.1:0",
      DOCKER_HOST: "unix:///nonexistent", // this test is about the local-binary path
    };
    for (const section of ["EDGE", "SPF", "DMARC", "DANE_OUTBOUND", "OCSP_REFRESHER", "DELIVERY_EVENTS"]) env[`POSTERN_${section}__HTTP__PORT`] = "0";

    const stack = spawn("bash", ["scripts/start-local.sh"], { cwd: repo, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    stack.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    stack.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolveExit) => stack.once("exit", (code) => resolveExit(code)));
    const pid = stack.pid ?? 0;
    let descendants: number[] = [];
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes("the stack is up")) {
        if (stack.exitCode !== null || Date.now() > deadline) throw new Error(`stack did not come up:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      descendants = descendantsOf(pid);
      expect(descendants.length).toBeGreaterThanOrEqual(8); // six services + nats-server + redis-server

      const swaks = await run("swaks", ["--server", `127.0.0.1:${smtp}`, "--from", "a@example.org", "--to", "user@localhost", "--timeout", "20"]);
      expect(swaks.stdout).toMatch(/<- {2}250 2\.0\.0 .*id=/);

      const tail = await run("node", [join(repo, "tools/postern/bin/postern.js"), "events", "tail", "--server", `127.0.0.1:${events}`, "--from-start", "--name", "msg:delivery", "--count", "1", "--timeout", "20"]);
      expect(tail.stdout).toMatch(/ msg:delivery id=\S+ .*local_part=user domain=localhost/);

      const newDir = join(data, "maildir", "user", "new");
      const files = readdirSync(newDir);
      expect(files).toHaveLength(1);
      expect(readFileSync(join(newDir, files[0] ?? ""), "utf8")).toContain("From: a@example.org");
    } finally {
      if (stack.exitCode === null) process.kill(-pid, "SIGINT");
      const code = await exited;
      const left = descendants.filter(isAlive);
      for (const leftover of left) process.kill(leftover, "SIGKILL");
      rmSync(data, { recursive: true, force: true });
      expect({ left, output: left.length > 0 ? output : "" }).toEqual({ left: [], output: "" });
      expect(code).not.toBeNull();
    }
  }, 120_000);
});
