/**
 * Test support: finding tools and free loopback ports, and running daemons that the test
 * itself stops (by the child it spawned, never by name).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** Which Debian package provides each tool the real-server tests run. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  nsd: "nsd",
  unbound: "unbound",
  "ldns-keygen": "ldnsutils",
  "ldns-signzone": "ldnsutils",
  "ldns-key2ds": "ldnsutils",
};

/** Absolute path of a tool, looking in PATH and the sbin directories daemons live in. */
export function findTool(name: string): string {
  const dirs = [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs.filter((d) => d !== "")) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} not found: install the Debian package ${TOOL_PACKAGES[name] ?? name}`);
}

export function run(file: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(" ")}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

function tcpPort(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(null));
    srv.listen({ host, port, exclusive: true }, () => {
      const addr = srv.address();
      const p = typeof addr === "object" && addr !== null ? addr.port : null;
      srv.close(() => resolve(p));
    });
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(":") ? "udp6" : "udp4");
    sock.once("error", () => resolve(false));
    sock.bind({ address: host, port, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}

/** A port free for both TCP and UDP on `host` right now. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await tcpPort(host, 0);
    if (port !== null && (await udpFree(host, port))) return port;
  }
  throw new Error(`no free port on ${host}`);
}

/** A daemon started in the foreground; stop() sends SIGTERM to that child (SIGKILL after 3 s). */
export class Daemon {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #output = "";

  constructor(readonly name: string, file: string, args: readonly string[], cwd: string) {
    this.#child = spawn(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    this.#child.stdout?.on("data", (d: Buffer) => (this.#output += d.toString()));
    this.#child.stderr?.on("data", (d: Buffer) => (this.#output += d.toString()));
    this.#exited = new Promise((resolve) => {
      this.#child.once("exit", () => resolve());
      this.#child.once("error", (err) => {
        this.#output += String(err);
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null && this.#child.pid !== undefined;
  }

  get output(): string {
    return this.#output;
  }

  async stop(): Promise<void> {
    if (!this.running) return this.#exited;
    this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 3000);
    await this.#exited;
    clearTimeout(timer);
  }
}
