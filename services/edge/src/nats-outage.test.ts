import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codecs, connectBus, natsConfigSchema } from "@postern/bus";
import { runService } from "@postern/service-kit";
import { freePort, LogSink } from "@postern/testing";
import { pino } from "pino";
import { configSchema, startEdge } from "./index";
import { swaks, swaksId } from "./testing/swaks";

/**
 * Issue #4 "Done when" 4: nats-server is stopped while swaks sends mail
 * through the edge, then started again on the same port and store. While it
 * is down every message gets 451 4.3.0 (the edge keeps answering: banner,
 * EHLO, RCPT); every 250 the clients got names a MAIL record that is in the
 * stream afterwards; once NATS is back the same edge process (never
 * restarted) answers 250 again.
 *
 * nats-server runs here as a child process of its own (not @postern/testing's
 * startNats, which cannot restart a server), with file storage so that the
 * streams survive the restart as they do in production.
 */

const MB = 1024 * 1024;

class NatsProcess {
  private child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.env.POSTERN_NATS_SERVER_BIN ?? "nats-server", ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.dir], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let log = "";
      const onData = (b: Buffer): void => {
        log += b.toString();
        if (/Server is ready/.test(log)) resolve();
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => reject(new Error(`nats-server exited (${String(code)}): ${log}`)));
      setTimeout(() => reject(new Error(`nats-server not ready: ${log}`)), 20_000).unref();
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

interface Attempt {
  phase: "before" | "stopping" | "down" | "recovering" | "after";
  code: number;
  /** the final reply to the message: "250 2.0.0 OK id=...", "451 4.3.0 ..." */
  final: string;
  id: string;
  banner: boolean;
}

describe("edge: nats-server stopped during a swaks run", () => {
  let dir: string;
  let nats: NatsProcess;
  let stopEdge: () => Promise<void> = () => Promise.resolve();
  let smtpPort: number;
  const logs = new LogSink();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-nats-outage-"));
    nats = new NatsProcess(await freePort(), join(dir, "jetstream"));
    await nats.start();
    smtpPort = await freePort();
    const config = {
      log: { level: "info" },
      // file storage (the default): the streams survive the restart
      nats: { servers: [nats.url], reconnect_wait_ms: 200 },
      edge: { smtp_listen: [`127.0.0.1:${smtpPort}`], grpc: { listen: "127.0.0.1:0" }, hostname: "edge.test", spf_enable: false, smtp_shutdown_grace_ms: 1000, publish_timeout_ms: 3000 },
    };
    const ctx = await runService({ name: "edge", schema: configSchema, config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: logs, start: startEdge });
    stopEdge = () => ctx.shutdown.trigger("test finished");
    writeFileSync(join(dir, "body.txt"), `Subject: bigger\n\n${`${"x".repeat(76)}\n`.repeat(Math.ceil((2 * MB) / 77))}`);
  });

  afterAll(async () => {
    await stopEdge();
    await nats?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const send = async (phase: Attempt["phase"], extra: string[] = []): Promise<Attempt> => {
    const r = await swaks(smtpPort, ["--from", "sender@example.org", "--to", "user@localhost", ...extra]);
    const finals = [...r.out.matchAll(/^<(?:-|\*\*) +((?:250 2\.0\.0 OK id=\S+)|(?:4\d\d [\d.]+ .*)|(?:5\d\d [\d.]+ .*))$/gm)].map((m) => m[1] ?? "");
    return { phase, code: r.code, final: finals.at(-1) ?? "", id: swaksId(r.out), banner: /^<- {2}220 edge\.test /m.test(r.out) };
  };

  it("451 while NATS is down, no 250 for unstored mail, 250 again after it returns without restarting the edge", async () => {
    const attempts: Attempt[] = [];
    for (let i = 0; i < 3; i++) attempts.push(await send("before"));

    // stop nats-server while a 2 MB message is on its way
    const inFlight = send("stopping", ["--body", `@${join(dir, "body.txt")}`, "--suppress-data"]);
    await new Promise((r) => setTimeout(r, 150));
    await nats.stop();
    attempts.push(await inFlight);
    for (let i = 0; i < 3; i++) attempts.push(await send("down"));

    await nats.start();
    // the edge reconnects by itself; until it has, replies stay 451
    const deadline = Date.now() + 60_000;
    for (;;) {
      const a = await send("recovering");
      attempts.push(a);
      if (a.final.startsWith("250") || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (let i = 0; i < 3; i++) attempts.push(await send("after"));

    const summary = attempts.map((a) => `${a.phase}:${a.final.slice(0, 9)}`);
    if (process.env.POSTERN_TEST_VERBOSE) console.log(summary.join(" "));
    // every session was answered (the edge kept accepting connections), and every final reply is 250 or 451 4.3.0
    expect(attempts.every((a) => a.banner)).toBe(true);
    for (const a of attempts) expect({ summary, final: a.final }).toEqual({ summary, final: expect.stringMatching(/^(250 2\.0\.0 OK id=|451 4\.3\.0 )/) as unknown });
    expect(attempts.filter((a) => a.phase === "before").map((a) => a.final.slice(0, 3))).toEqual(["250", "250", "250"]);
    expect(attempts.filter((a) => a.phase === "down").map((a) => a.final.slice(0, 9))).toEqual(["451 4.3.0", "451 4.3.0", "451 4.3.0"]);
    expect(attempts.filter((a) => a.phase === "after").map((a) => a.final.slice(0, 3))).toEqual(["250", "250", "250"]);
    expect(attempts.filter((a) => a.phase === "recovering").at(-1)?.final).toMatch(/^250 /);

    // no 250 for unstored mail: every id a client was given is in the MAIL stream
    const accepted = attempts.filter((a) => a.final.startsWith("250")).map((a) => a.id);
    const stored = await storedIds(nats.url);
    for (const id of accepted) expect({ id, stored: stored.has(id) }).toEqual({ id, stored: true });
    expect(logs.lines.filter((l) => l.event === "msg.deferred").length).toBe(attempts.filter((a) => a.final.startsWith("451")).length);
  }, 180_000);
});

/** Message ids of every MAIL record in the stream (read by sequence: no consumer on the work queue, no topology change). */
async function storedIds(url: string): Promise<Set<string>> {
  const bus = await connectBus(natsConfigSchema.parse({ servers: [url] }), { name: "outage-test", logger: pino({ level: "silent" }) });
  try {
    const { state } = await bus.jsm.streams.info("MAIL");
    const ids = new Set<string>();
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await bus.jsm.streams.getMessage("MAIL", { seq }).catch(() => null);
      if (m !== null) ids.add(codecs.mail.decode(m.data).messageId);
    }
    return ids;
  } finally {
    await bus.drain();
  }
}
