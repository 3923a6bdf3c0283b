/**
 * Support for the deployment tests: Postern services run the way their
 * containers run them (`node dist/main.js` in the service's directory, the
 * Dockerfile's CMD, configured by POSTERN_* environment variables only), an
 * SMTP client that can stop in the middle of DATA, and a loopback DNS server
 * that answers NXDOMAIN to everything (SPF result "none" without network DNS).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { freePort } from "@postern/testing";

export const repo = resolve(__dirname, "../..");
export const SERVICES = ["edge", "spf", "dmarc", "dane-outbound", "ocsp-refresher", "delivery-events"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** dist/main.js of every service exists (scripts/test.sh runs `pnpm build` before jest). */
export const built = SERVICES.every((s) => existsSync(join(repo, "services", s, "dist", "main.js")));
export const NOT_BUILT = "services are not built (no services/*/dist/main.js): run `pnpm build` first; scripts/test.sh does";

const section = (name: ServiceName): string => name.toUpperCase().replace(/-/g, "_");

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  httpPort: number;
  /** Everything the process wrote (pino JSON lines and stderr). */
  output(): string;
  /** Resolves with the exit code (or the signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** GET on the HTTP port; the status code (0 when nothing answers). */
  httpStatus(path: string): Promise<number>;
  /** Sum of a counter's samples on /metrics whose line includes `match`. */
  counter(name: string, match?: string): Promise<number>;
  /** Sends the signal (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts services/<name>/dist/main.js with only PATH, HOME and the given POSTERN_*
 * variables in its environment, /metrics /healthz /readyz on a free loopback port,
 * and waits until /readyz answers 200.
 */
export async function startService(name: ServiceName, env: Record<string, string>): Promise<ServiceProcess> {
  const httpPort = await freePort();
  const child = spawn(process.execPath, ["dist/main.js"], {
    cwd: join(repo, "services", name),
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      NODE_ENV: "production",
      [`POSTERN_${section(name)}__HTTP__HOST`]: "127.0.0.1",
      [`POSTERN_${section(name)}__HTTP__PORT`]: String(httpPort),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once("exit", (code, signal) => done({ code, signal })));

  const httpStatus = async (path: string): Promise<number> => {
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { signal: AbortSignal.timeout(3_000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  };
  const proc: ServiceProcess = {
    name,
    child,
    httpPort,
    output: () => out,
    exited,
    httpStatus,
    async counter(metric, match = "") {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      return text
        .split("\n")
        .filter((line) => (line.startsWith(`${metric}{`) || line.startsWith(`${metric} `)) && line.includes(match))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };

  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before it was ready:\n${out}`);
    if ((await httpStatus("/readyz")) === 200) return proc;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} not ready within 45 s:\n${out}`);
    }
    await sleep(100);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true; throws with `what` after timeoutMs. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** An SMTP client connection that reads complete replies and can send raw bytes (half a DATA). */
export class SmtpClient {
  private buffer = "";
  private readonly replies: string[] = [];
  private waiter: (() => void) | undefined;
  /** true once the server closed the connection */
  closed = false;

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
    socket.on("close", () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static async open(port: number): Promise<SmtpClient> {
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise<void>((done, fail) => socket.once("connect", done).once("error", fail));
    const c = new SmtpClient(socket);
    const banner = await c.reply();
    if (!banner.startsWith("220")) throw new Error(`banner: ${banner}`);
    const ehlo = await c.command("EHLO client.deploy.test");
    if (!ehlo.startsWith("250")) throw new Error(`EHLO: ${ehlo}`);
    return c;
  }

  /** The next reply; "" when the connection closed without one. */
  reply(timeoutMs = 30_000): Promise<string> {
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error("no SMTP reply in time")), timeoutMs);
      const check = (): void => {
        const r = this.replies.shift();
        if (r === undefined && !this.closed) return;
        clearTimeout(timer);
        this.waiter = undefined;
        done(r ?? "");
      };
      this.waiter = check;
      check();
    });
  }

  write(raw: string): void {
    this.socket.write(raw);
  }

  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** MAIL, RCPT, DATA up to the 354; throws on any other reply. */
  async begin(from: string, to: string): Promise<void> {
    for (const [line, code] of [[`MAIL FROM:<${from}>`, "250"], [`RCPT TO:<${to}>`, "250"], ["DATA", "354"]] as const) {
      const r = await this.command(line);
      if (!r.startsWith(code)) throw new Error(`${line}: ${r}`);
    }
  }

  /** A whole message: the final reply to DATA (or the first refusal before it). */
  async send(from: string, to: string, body: string): Promise<string> {
    await this.begin(from, to);
    this.socket.write(`${body.replace(/\r?\n/g, "\r\n")}\r\n.\r\n`);
    return this.reply();
  }

  close(): void {
    if (!this.closed) this.socket.end("QUIT\r\n");
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A loopback UDP DNS server answering NXDOMAIN to every query (so SPF checks give "none"). */
export async function startNxdomainDns(): Promise<{ address: string; queries: () => number; close(): Promise<void> }> {
  const sock: UdpSocket = createSocket("udp4");
  let count = 0;
  sock.on("message", (msg, rinfo) => {
    if (msg.length < 12) return;
    count++;
    // the question section ends after its name (a run of labels, then 0) and QTYPE + QCLASS
    let i = 12;
    while (i < msg.length && msg[i] !== 0) i += (msg[i] as number) + 1;
    const question = msg.subarray(12, Math.min(i + 5, msg.length));
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    header[2] = 0x80 | ((msg[2] as number) & 0x01) | 0x04; // QR, RD copied, AA
    header[3] = 0x80 | 0x03; // RA, NXDOMAIN
    header.writeUInt16BE(1, 4); // one question
    sock.send(Buffer.concat([header, question]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((done) => sock.bind(0, "127.0.0.1", done));
  return {
    address: `127.0.0.1:${sock.address().port}`,
    queries: () => count,
    close: () => new Promise((done) => sock.close(() => done())),
  };
}
