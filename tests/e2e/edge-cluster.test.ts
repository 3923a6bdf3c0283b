import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { connect as tcpConnect } from "node:net";
import { codecs, connectBus, natsConfigSchema, streamNames, subjects, type Bus } from "@postern/bus";
import { runService, type ServiceContext } from "@postern/service-kit";
import { configSchema as spfSchema, createZoneDns, type SpfConfig, startSpf, type ZoneData } from "@postern/spf";
import { type Backend, freePort, startNats } from "@postern/testing";
import { SmtpSession } from "./spf-support";

const repo = resolve(__dirname, "../..");
/** a verdict that went to the wrong worker would be dropped there; the asking worker then answers 451 after this */
const SPF_TIMEOUT_MS = 3_000;

const zone: ZoneData = {
  "pass.test": [{ TXT: "v=spf1 ip4:127.0.0.0/8 -all" }],
  "fail.test": [{ TXT: "v=spf1 -all" }],
};

class Discard extends Writable {
  override _write(_chunk: unknown, _enc: BufferEncoding, done: () => void): void {
    done();
  }
}

interface LogLine {
  msg?: string;
  event?: string;
  worker?: number;
  pid?: number;
  helo?: string;
  [k: string]: unknown;
}

/** The edge as main.ts runs it (edge.workers = 2), from the TypeScript sources, its JSON log lines collected. */
class EdgeProcess {
  readonly lines: LogLine[] = [];
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    let partial = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const p of parts) {
        try {
          this.lines.push(JSON.parse(p) as LogLine);
        } catch {
          // not a log line
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    this.exited = new Promise((done) => child.once("exit", (code) => done(code)));
  }

  /** Resolves with the first line (after `from`) that matches. */
  async line(match: (l: LogLine) => boolean, timeoutMs = 30_000, from = 0): Promise<LogLine> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found !== undefined) return found;
      if (Date.now() > end || this.child.exitCode !== null) throw new Error(`no such log line; got:\n${this.lines.map((l) => JSON.stringify(l)).join("\n")}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
}

/**
 * Issue 4: edge.workers = 2 (node:cluster). Both workers accept SMTP on the
 * one port, each has its own EdgeCallback gRPC port, so the spf service's
 * ReportSpf reaches the worker whose transaction waits for it: every RCPT gets
 * the verdict's answer (250 for pass, 550 for fail), never the 451 of a
 * verdict that went astray. A killed worker is replaced; SIGTERM stops all.
 */
describe("edge with two workers (node:cluster)", () => {
  let nats: Backend;
  let spf: ServiceContext<SpfConfig>;
  let bus: Bus;
  let edge: EdgeProcess;
  let smtpPort: number;
  let dir: string;

  beforeAll(async () => {
    nats = await startNats();
    const memory = { storage: "memory" };
    const natsSection = { servers: [nats.url], jetstream: { mail: memory, events: memory, spool: memory, kv: memory } };
    spf = await runService({
      name: "spf",
      schema: spfSchema,
      config: { log: { level: "warn" }, nats: natsSection, spf: { grpc: { listen: "127.0.0.1:0" }, receiver: "cluster.e2e.test" } },
      env: {},
      installSignalHandlers: false,
      exitOnError: false,
      logDestination: new Discard(),
      start: (ctx) => startSpf(ctx, { dns: createZoneDns(zone) }),
    });
    bus = await connectBus(natsConfigSchema.parse(natsSection), { name: "cluster-test", logger: { info: () => undefined, warn: () => undefined, error: () => undefined } });
    smtpPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), "postern-edge-cluster-"));
    const configFile = join(dir, "postern.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        log: { level: "info" },
        nats: natsSection,
        edge: {
          workers: 2,
          smtp_listen: [`127.0.0.1:${smtpPort}`],
          grpc: { listen: "127.0.0.1:0" },
          http: { port: 0 },
          hostname: "edge.cluster.test",
          local_domains: ["localhost"],
          relay_from_hosts: [], // loopback clients get SPF checks like anyone
          spf_timeout_ms: SPF_TIMEOUT_MS,
          smtp_shutdown_grace_ms: 1_000,
        },
      }),
    );
    const child = spawn(process.execPath, ["--conditions=@postern/source", "-r", join(repo, "bench/ts-register.cjs"), join(repo, "services/edge/src/main.ts")], {
      cwd: repo,
      env: { ...process.env, POSTERN_CONFIG: configFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    edge = new EdgeProcess(child);
    await edge.line((l) => l.msg === "service started" && l.worker === undefined && edge.lines.filter((x) => x.event === "cluster.worker_ready").length === 2, 90_000);
  }, 120_000);

  afterAll(async () => {
    if (edge !== undefined && edge.child.exitCode === null) {
      edge.child.kill("SIGKILL");
      await edge.exited;
    }
    await bus?.drain();
    await spf?.shutdown.trigger("test finished");
    await nats?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** One connection with a unique HELO: a pass transaction with a message, then a fail; returns the serving worker. */
  async function session(n: number): Promise<number> {
    const helo = `c${n}.cluster.test`;
    const s = await SmtpSession.open(smtpPort, helo);
    try {
      expect(await s.command(`MAIL FROM:<p${n}@pass.test>`)).toMatch(/^250/);
      expect(await s.command("RCPT TO:<user@localhost>")).toMatch(/^250/);
      expect(await s.command("DATA")).toMatch(/^354/);
      expect(await s.command(`Subject: ${helo}\r\n\r\nhello\r\n.`)).toMatch(/^250 /);
      expect(await s.command(`MAIL FROM:<f${n}@fail.test>`)).toMatch(/^250/);
      expect(await s.command("RCPT TO:<user@localhost>")).toMatch(/^550 5\.7\.23/);
    } finally {
      s.close();
    }
    const received = await edge.line((l) => l.event === "msg.received" && l.helo === helo);
    return received.worker as number;
  }

  it("both workers take connections and every SPF verdict reaches the worker that asked", async () => {
    const before = (await bus.jsm.streams.info(streamNames.mail)).state.messages;
    const served = new Set<number>();
    let n = 0;
    // parallel batches until both workers have served (the kernel picks the accepting worker)
    while (n < 80 && (served.size < 2 || n < 16)) {
      const batch = await Promise.all(Array.from({ length: 8 }, () => session(n++)));
      for (const w of batch) served.add(w);
    }
    expect([...served].sort()).toEqual([0, 1]);
    expect((await bus.jsm.streams.info(streamNames.mail)).state.messages - before).toBe(n);
    expect(edge.lines.filter((l) => l.event === "txn.verdict_dropped")).toEqual([]);
    // each worker has its own EdgeCallback address
    const grpc = edge.lines.filter((l) => l.msg === "grpc server listening").map((l) => l.address);
    expect(grpc).toHaveLength(2);
    expect(new Set(grpc).size).toBe(2);
  }, 120_000);

  it("port 0: each worker advertises the gRPC address it listens on, and its verdict requests carry it", async () => {
    // the latest ready report of each worker, as the primary logged it
    const reported = new Map<number, LogLine>();
    for (const l of edge.lines) if (l.event === "cluster.worker_ready") reported.set(l.worker as number, l);
    expect([...reported.keys()].sort()).toEqual([0, 1]);
    for (const [worker, r] of reported) {
      const listening = edge.lines.filter((l) => l.msg === "grpc server listening" && l.worker === worker).at(-1);
      expect(r.grpc_listen).toBe(listening?.address);
      expect(r.grpc_address).toBe(listening?.address); // no grpc.advertise: the bound address, port included
      expect(r.grpc_address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
      expect(r.http_port).toBeGreaterThan(0);
      // something listens there (the worker: the primary binds no gRPC port)
      await new Promise<void>((done, fail) => {
        const [host, port] = (r.grpc_address as string).split(":");
        const socket = tcpConnect({ host, port: Number(port) }, () => {
          socket.destroy();
          done();
        });
        socket.once("error", fail);
      });
    }
    expect(new Set([...reported.values()].map((r) => r.grpc_address)).size).toBe(2);
    expect(new Set([...reported.values()].map((r) => r.http_port)).size).toBe(2);

    // the reply_to of every SPF request is the advertised address of the worker that served the session
    const replyTo = new Map<string, Set<string>>();
    const sub = bus.nc.subscribe(subjects.spfCheck);
    const reading = (async () => {
      for await (const m of sub) {
        const r = codecs.spfCheck.decode(m.data);
        const set = replyTo.get(r.helo) ?? new Set<string>();
        set.add(r.replyTo?.grpcAddress ?? "");
        replyTo.set(r.helo, set);
      }
    })();
    await bus.nc.flush();
    const served = new Map<string, number>();
    for (let n = 500; n < 516; n += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map(async (k) => [`c${n + k}.cluster.test`, await session(n + k)] as const));
      for (const [helo, worker] of batch) served.set(helo, worker);
    }
    sub.unsubscribe();
    await reading;
    for (const [helo, worker] of served) expect({ helo, replyTo: [...(replyTo.get(helo) ?? [])] }).toEqual({ helo, replyTo: [reported.get(worker)?.grpc_address] });
  }, 120_000);

  it("a worker that dies is started again and serves", async () => {
    const first = await edge.line((l) => l.event === "cluster.worker_ready" && l.worker === 0);
    const mark = edge.lines.length;
    process.kill(first.pid as number, "SIGKILL");
    await edge.line((l) => l.event === "cluster.worker_exited" && l.worker === 0, 30_000, mark);
    await edge.line((l) => l.event === "cluster.worker_ready" && l.worker === 0, 60_000, mark);
    for (let i = 0; i < 4; i++) await session(1000 + i);
  }, 120_000);

  it("SIGTERM stops the primary and its workers", async () => {
    const pids = edge.lines.filter((l) => l.event === "cluster.worker_ready").map((l) => l.pid as number);
    edge.child.kill("SIGTERM");
    expect(await edge.exited).toBe(0);
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  }, 60_000);
});
