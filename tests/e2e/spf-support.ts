/**
 * Support for the spf end-to-end tests: spf service processes (killable),
 * their Prometheus counters, and a one-transaction-at-a-time SMTP session.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { resolve } from "node:path";
import type { ZoneData } from "@postern/spf";

const repo = resolve(__dirname, "../..");

export interface SpfProcess {
  child: ChildProcess;
  httpPort: number;
  /** Sum of a counter's samples on /metrics (optionally those whose labels include `match`, e.g. 'source="nats"'). */
  counter(name: string, match?: string): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node tests/e2e/spf-worker.ts` from the sources and waits until it serves. */
export function startSpfProcess(env: Record<string, string>, zone: ZoneData): Promise<SpfProcess> {
  const child = spawn(process.execPath, ["--conditions=@postern/source", "-r", repoPath("bench/ts-register.cjs"), repoPath("tests/e2e/spf-worker.ts")], {
    cwd: repo,
    env: { ...process.env, ...env, POSTERN_TEST_SPF_ZONE: JSON.stringify(zone) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  let output = "";
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`spf process did not start:\n${output}`)), 30_000);
    child.once("exit", (code) => fail(new Error(`spf process exited (${code}):\n${output}`)));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const started = /"httpPort":(\d+).*"msg":"service started"|"msg":"service started".*"httpPort":(\d+)/.exec(output);
      if (!started) return;
      clearTimeout(timer);
      const httpPort = Number(started[1] ?? started[2]);
      ready({
        child,
        httpPort,
        async counter(name, match = "") {
          const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
          return text
            .split("\n")
            .filter((line) => line.startsWith(`${name}{`) && line.includes(match))
            .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
        },
        async kill(signal = "SIGKILL") {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
        },
      });
    });
  });
}

function repoPath(path: string): string {
  return resolve(repo, path);
}

/** An SMTP connection that reads complete replies; one command at a time. */
export class SmtpSession {
  private buffer = "";
  private replies: string[] = [];
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      let m: RegExpExecArray | null;
      while ((m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer)) !== null) {
        this.replies.push(m[0].trimEnd());
        this.buffer = this.buffer.slice(m[0].length);
      }
      this.waiter?.();
    });
    socket.on("error", () => undefined);
  }

  static async open(port: number, helo = "client.e2e.test"): Promise<SmtpSession> {
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise<void>((done, fail) => socket.once("connect", done).once("error", fail));
    const s = new SmtpSession(socket);
    await s.reply();
    await s.command(`EHLO ${helo}`);
    return s;
  }

  reply(timeoutMs = 15_000): Promise<string> {
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error("no SMTP reply in time")), timeoutMs);
      const check = (): void => {
        const r = this.replies.shift();
        if (r === undefined) return;
        clearTimeout(timer);
        this.waiter = undefined;
        done(r);
      };
      this.waiter = check;
      check();
    });
  }

  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.socket.end("QUIT\r\n");
  }
}
