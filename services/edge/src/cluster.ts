/**
 * The edge's process model (edge.workers): one process, or a node:cluster
 * primary that supervises N workers sharing the SMTP listeners, each worker a
 * full edge (its own NATS connection, Redis lookups, EdgeCallback gRPC server).
 *
 * Why: one Node process runs its JavaScript on one core; the SMTP path (parse,
 * protobuf, NATS client) is CPU-bound under load (pnpm bench:edge), so a
 * second process uses the second core.
 *
 * Why per-worker gRPC ports: a verdict request carries the asking edge's
 * EdgeCallback address in reply_to, and the pending transaction lives in that
 * worker's memory only (txn.ts). Worker i listens on grpc.listen's port + i
 * and advertises it, so the verdict comes back to the worker that waits for
 * it. Port 0 stays 0: each worker binds a free port itself (exclusively, not
 * through the primary, which would share one port-0 socket among all workers),
 * puts the port it got into its reply_to, and reports its addresses to the
 * primary in its ready message; the primary refuses a worker whose ports
 * another running worker already reported. (Ports probed by the primary and
 * released for the workers to bind raced with other processes taking them.)
 *
 * The primary serves edge.http (/healthz; /readyz once every worker is
 * ready), restarts a worker that dies (same index, same ports) and at shutdown
 * asks every worker to stop gracefully (SIGTERM-like: sessions may finish
 * their transaction), killing those that outlive the grace time. Workers
 * ignore SIGINT (Ctrl-C reaches the whole process group; the primary decides)
 * and stop by themselves when the primary disappears.
 *
 * DIAGNOSTICS: primary log events in clusterLogEvents; worker logs carry
 * { worker: index }; metrics per worker on its own HTTP port.
 */
import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { pino } from "pino";
import { parseHostPort, runService, type ServiceContext } from "@postern/service-kit";
import { configSchema, type EdgeConfig, type EdgeSection } from "./config";
import { type EdgeAddresses, startEdge } from "./service";

/** The worker's index (0-based), set by the primary in the worker's environment (not POSTERN_*: no config override). */
export const WORKER_INDEX_ENV = "EDGE_CLUSTER_WORKER_INDEX";

export const clusterLogEvents = {
  workersStarting: "cluster.starting", // { workers }
  workerReady: "cluster.worker_ready", // { worker, pid, grpc_listen, grpc_address, http_port }
  portClash: "cluster.port_clash", // { worker, other, grpc_listen, grpc_address, http_port } (error: the worker is stopped)
  workerExited: "cluster.worker_exited", // { worker, pid, code, signal, restart_in_ms } (unexpected: error level)
  workersStopping: "cluster.stopping", // { workers }
  workerKilled: "cluster.worker_killed", // { worker, pid } (outlived the shutdown grace)
} as const;

/** how long after an unexpected exit a worker is started again */
const RESTART_DELAY_MS = 1_000;
/** beyond smtp_shutdown_grace_ms, how long a stopping worker may take (NATS drain, gRPC close) before SIGKILL */
const STOP_SLACK_MS = 10_000;

const READY = "postern-edge-worker-ready";
const STOP = "postern-edge-worker-stop";

/** edge.workers as a number: "auto" is one per core. */
export function resolveWorkers(setting: EdgeSection["workers"], cores: number = availableParallelism()): number {
  return setting === "auto" ? Math.max(1, cores) : setting;
}

function formatHostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** `host:port` with port + offset (0 stays 0: the worker then binds a free port and advertises what it bound). */
function shiftPort(hostPort: string, offset: number): string {
  const hp = parseHostPort(hostPort);
  if (hp === undefined) throw new Error(`not host:port: ${hostPort}`);
  return hp.port === 0 ? hostPort : formatHostPort(hp.host, hp.port + offset);
}

/** Where worker `index` serves HTTP and EdgeCallback gRPC. */
export interface WorkerPorts {
  httpPort: number;
  grpcListen: string;
  grpcAdvertise?: string;
}

/**
 * Each worker's ports: configured port + offset (a restarted worker keeps its index's ports). Port 0 stays 0: the
 * worker binds a free port itself, exclusively (see startEdge's exclusivePorts; service-kit's HTTP server always binds
 * exclusively), and reports what it bound in its ready message.
 */
export function workerPorts(edge: Pick<EdgeSection, "http" | "grpc">, count: number): WorkerPorts[] {
  const grpc = parseHostPort(edge.grpc.listen);
  if (grpc === undefined) throw new Error(`grpc.listen: not host:port: ${edge.grpc.listen}`);
  return Array.from({ length: count }, (_, i) => ({
    httpPort: edge.http.port === 0 ? 0 : edge.http.port + 1 + i,
    grpcListen: grpc.port === 0 ? edge.grpc.listen : formatHostPort(grpc.host, grpc.port + i),
    ...(edge.grpc.advertise === undefined ? {} : { grpcAdvertise: shiftPort(edge.grpc.advertise, i) }),
  }));
}

/** What a worker reports once its edge has started: the addresses it actually bound and advertises. */
export interface WorkerReport {
  index: number;
  httpPort: number;
  /** host:port its EdgeCallback gRPC server listens on */
  grpcListen: string;
  /** the reply_to it puts into verdict requests */
  grpcAdvertised: string;
}

function isWorkerReport(m: unknown): m is WorkerReport {
  const r = m as Partial<WorkerReport>;
  return typeof r.index === "number" && typeof r.httpPort === "number" && typeof r.grpcListen === "string" && typeof r.grpcAdvertised === "string";
}

/**
 * The running worker whose ports `report` claims too, if any. Two workers on one gRPC port would each receive the
 * other's verdicts (and drop them: the transaction is not theirs), two on one HTTP port would answer each other's
 * scrapes. Exclusive binds make this impossible; the check keeps a regression from passing silently.
 */
export function portClash(report: WorkerReport, running: Iterable<WorkerReport>): WorkerReport | undefined {
  for (const other of running) {
    if (other.index === report.index) continue;
    if (other.grpcListen === report.grpcListen || other.grpcAdvertised === report.grpcAdvertised) return other;
    if (report.httpPort !== 0 && other.httpPort === report.httpPort) return other;
  }
  return undefined;
}

/** Configuration overrides (POSTERN_* environment) for worker `index`; values are JSON so strings stay strings. */
export function workerEnvironment(index: number, ports: WorkerPorts): Record<string, string> {
  return {
    [WORKER_INDEX_ENV]: String(index),
    POSTERN_EDGE__WORKERS: "1",
    POSTERN_EDGE__HTTP__PORT: String(ports.httpPort),
    POSTERN_EDGE__GRPC__LISTEN: JSON.stringify(ports.grpcListen),
    ...(ports.grpcAdvertise === undefined ? {} : { POSTERN_EDGE__GRPC__ADVERTISE: JSON.stringify(ports.grpcAdvertise) }),
  };
}

/** at most this many characters per write: whole lines, within PIPE_BUF, so workers sharing a pipe do not interleave */
const MAX_LOG_WRITE = 4096;

/**
 * pino's stdout, one write per event-loop turn: under load the edge logs a line per message, and a write system call
 * per line cost more than making the line (pnpm bench:edge). Lines made in one turn go out together at its end (an
 * idle edge's lines appear at once); writes are synchronous (pino's SonicBoom: EAGAIN retried) and at most
 * MAX_LOG_WRITE characters of whole lines; whatever is pending is written at exit.
 */
export class LineBatcher {
  private pending = "";
  private scheduled = false;

  constructor(private readonly out: { write(chunk: string): unknown }) {
    process.once("exit", () => this.flush());
  }

  write(line: string): boolean {
    if (this.pending.length > 0 && this.pending.length + line.length > MAX_LOG_WRITE) this.flush();
    this.pending += line;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
    return true;
  }

  flush(): void {
    if (this.pending === "") return;
    const chunk = this.pending;
    this.pending = "";
    this.out.write(chunk);
  }
}

function logDestination(): NodeJS.WritableStream {
  return new LineBatcher(pino.destination({ dest: 1, sync: true })) as unknown as NodeJS.WritableStream;
}

function isMessage(m: unknown, type: string): boolean {
  return typeof m === "object" && m !== null && (m as { type?: unknown }).type === type;
}

/** The edge's entry point (main.ts): a single edge, a cluster primary, or (in a forked process) a worker. */
export async function runEdge(): Promise<void> {
  if (cluster.isWorker) return runWorker();
  await runService({
    name: "edge",
    schema: configSchema,
    logDestination: logDestination(),
    start: (ctx) => {
      const n = resolveWorkers(ctx.config.edge.workers);
      return n <= 1 ? startEdge(ctx) : startPrimary(ctx, n);
    },
  });
}

/**
 * Forks the workers and resolves once each has started its edge; a worker that exits before that fails the start
 * (the others are stopped by the shutdown closer registered first).
 */
export async function startPrimary(ctx: ServiceContext<EdgeConfig>, count: number): Promise<void> {
  const { logger, shutdown, health } = ctx;
  const edge = ctx.config.edge;
  const workers = new Map<number, Worker>();
  const ready = new Set<number>();
  /** what each ready worker bound, as it reported it */
  const reports = new Map<number, WorkerReport>();
  let stopping = false;
  let starting = true;
  let startDone: (err?: Error) => void = () => undefined;
  const allReady = new Promise<void>((resolve, reject) => {
    startDone = (err) => (err === undefined ? resolve() : reject(err));
  });

  const ports = workerPorts(edge, count);
  const fork = (index: number): void => {
    const worker = cluster.fork(workerEnvironment(index, ports[index] as WorkerPorts));
    workers.set(index, worker);
    worker.on("message", (m: unknown) => {
      if (!isMessage(m, READY)) return;
      const report = (m as { report?: unknown }).report;
      if (!isWorkerReport(report) || report.index !== index) return;
      const addresses = { grpc_listen: report.grpcListen, grpc_address: report.grpcAdvertised, http_port: report.httpPort };
      const other = portClash(report, reports.values());
      if (other !== undefined) {
        logger.error({ event: clusterLogEvents.portClash, worker: index, other: other.index, ...addresses }, `edge worker ${index} bound a port worker ${other.index} uses; stopping it`);
        if (starting) startDone(new Error(`edge worker ${index} bound a port worker ${other.index} uses`));
        worker.process.kill("SIGKILL");
        return;
      }
      reports.set(index, report);
      ready.add(index);
      if (starting && ready.size === count) startDone();
      logger.info({ event: clusterLogEvents.workerReady, worker: index, pid: worker.process.pid, ...addresses }, `edge worker ${index} ready`);
    });
    worker.on("exit", (code, signal) => {
      ready.delete(index);
      if (reports.get(index) !== undefined && workers.get(index) === worker) reports.delete(index);
      if (workers.get(index) === worker) workers.delete(index);
      if (stopping) return;
      if (starting) {
        startDone(new Error(`edge worker ${index} exited during start (${signal ?? `exit ${code}`})`));
        return;
      }
      logger.error(
        { event: clusterLogEvents.workerExited, worker: index, pid: worker.process.pid, code, signal, restart_in_ms: RESTART_DELAY_MS },
        `edge worker ${index} exited (${signal ?? `exit ${code}`}); restarting`,
      );
      setTimeout(() => {
        if (!stopping) fork(index);
      }, RESTART_DELAY_MS);
    });
  };

  shutdown.add(
    "workers",
    async () => {
      stopping = true;
      const running = [...workers];
      logger.info({ event: clusterLogEvents.workersStopping, workers: running.length }, "stopping edge workers");
      await Promise.all(
        running.map(([index, worker]) => {
          if (worker.isDead()) return Promise.resolve();
          const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
          const kill = setTimeout(() => {
            logger.warn({ event: clusterLogEvents.workerKilled, worker: index, pid: worker.process.pid }, `edge worker ${index} killed`);
            worker.process.kill("SIGKILL");
          }, edge.smtp_shutdown_grace_ms + STOP_SLACK_MS);
          if (worker.isConnected()) worker.send({ type: STOP });
          else worker.process.kill("SIGTERM");
          return exited.finally(() => clearTimeout(kill));
        }),
      );
    },
    { timeoutMs: edge.smtp_shutdown_grace_ms + STOP_SLACK_MS + 5_000 },
  );
  health.addCheck("workers", () => ready.size === count);

  // Each worker accepts on the shared listening socket itself (the kernel picks one). In round-robin mode the primary
  // would accept every connection and pass it over IPC: a per-connection cost on one process, for mail that opens a
  // connection per message. Must be set before the first fork.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  logger.info({ event: clusterLogEvents.workersStarting, workers: count }, `starting ${count} edge workers`);
  for (let i = 0; i < count; i++) fork(i);
  await allReady;
  starting = false;
}

/** A forked worker: a full edge, stopped by the primary's message, SIGTERM, or the primary's disappearance. */
async function runWorker(): Promise<void> {
  const index = Number(process.env[WORKER_INDEX_ENV] ?? "0");
  let ctx: ServiceContext<EdgeConfig> | undefined;
  let bound: EdgeAddresses | undefined;
  let stopReason: string | undefined;
  const stop = (reason: string): void => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    if (ctx === undefined) return process.exit(0); // not started yet: nothing to drain
    void ctx.shutdown.trigger(reason).then(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => undefined); // Ctrl-C reaches every process of the group: the primary decides
  process.on("message", (m: unknown) => {
    if (isMessage(m, STOP)) stop("primary: shutdown");
  });
  process.on("disconnect", () => stop("primary gone"));
  await runService({
    name: "edge",
    schema: configSchema,
    installSignalHandlers: false,
    logDestination: logDestination(),
    start: (c) => {
      ctx = c; // from here a stop is a graceful shutdown (closers added later run at once)
      return startEdge({ ...c, logger: c.logger.child({ worker: index }) }, { exclusivePorts: true, onStarted: (a) => (bound = a) });
    },
  });
  if (ctx === undefined || bound === undefined) return;
  const report: WorkerReport = { index, httpPort: ctx.httpPort, grpcListen: bound.grpcListen, grpcAdvertised: bound.grpcAdvertised };
  process.send?.({ type: READY, report });
}
