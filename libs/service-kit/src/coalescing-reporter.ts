/**
 * Coalesces verdicts bound for the same gRPC address into batched calls.
 *
 * Why: a unary gRPC call costs an HTTP/2 stream, HPACK headers and trailers
 * at both ends (~100 µs of CPU each side in grpc-js); the verdict itself is a
 * few dozen bytes. Under load the per-call cost, not the work, bounded the
 * SPF round trip (docs/adr/0006-batched-verdict-callbacks.md). Verdicts are
 * therefore gathered for the rest of the event-loop turn that produced them and
 * sent together at its end (setImmediate: at most one turn of added latency, no
 * timer) while fewer than `maxCallsPerAddress` calls to that address are in
 * flight, and otherwise queued and sent together when a call returns, so the
 * batch size grows with the load.
 *
 * Why per turn: a worker reads a burst of requests from one socket read and
 * finishes their checks in the same turn. Sent one at a time, the first
 * verdicts of the burst took the free call slots as calls of one item each and
 * the rest waited a whole gRPC round trip (and the asker's loop) for a slot;
 * under bench:spf's paced load that wait was the largest hop of the p99.
 *
 * A peer that answers UNIMPLEMENTED (an older edge during a rolling upgrade)
 * is remembered and gets one unary call per verdict from then on.
 */
import * as grpc from "@grpc/grpc-js";

export interface CoalescingReporterOptions<V> {
  /** Sends several items to one address in one call. */
  sendBatch(address: string, items: V[], deadlineMs: number): Promise<unknown>;
  /** Sends one item: for peers that do not implement the batched call. */
  sendOne(address: string, item: V, deadlineMs: number): Promise<unknown>;
  /** Items per call, at most (default 256). */
  maxBatch?: number;
  /** Calls in flight per address before items queue up (default 2). */
  maxCallsPerAddress?: number;
  /**
   * When a free slot sends what was reported: "turn" (default) at the end of the
   * current event-loop turn, with everything else reported in it; "immediate" at once.
   */
  flush?: "turn" | "immediate";
  /** Clock in milliseconds (performance.now by default; tests inject one). */
  now?: () => number;
}

/** The item's budget ran out while it waited for a free call slot. */
export class ReportDeadlineExceededError extends Error {
  override readonly name = "ReportDeadlineExceededError";
  constructor() {
    super("deadline exceeded before the verdict could be sent");
  }
}

interface Pending<V> {
  item: V;
  deadlineAt: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Route<V> {
  queue: Pending<V>[];
  inFlight: number;
  unaryOnly: boolean;
  /** a pump is scheduled for the end of this turn */
  scheduled: boolean;
}

function isUnimplemented(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === grpc.status.UNIMPLEMENTED;
}

export class CoalescingReporter<V> {
  private readonly routes = new Map<string, Route<V>>();
  private readonly maxBatch: number;
  private readonly maxCalls: number;
  private readonly perTurn: boolean;
  private readonly now: () => number;

  constructor(private readonly options: CoalescingReporterOptions<V>) {
    this.maxBatch = options.maxBatch ?? 256;
    this.maxCalls = options.maxCallsPerAddress ?? 2;
    this.perTurn = (options.flush ?? "turn") === "turn";
    this.now = options.now ?? (() => performance.now());
  }

  /** Resolves when the peer acknowledged the item; rejects with the call's error or ReportDeadlineExceededError. */
  report(address: string, item: V, deadlineMs: number): Promise<void> {
    let route = this.routes.get(address);
    if (route === undefined) {
      route = { queue: [], inFlight: 0, unaryOnly: false, scheduled: false };
      this.routes.set(address, route);
    }
    const done = new Promise<void>((resolve, reject) => {
      route.queue.push({ item, deadlineAt: this.now() + deadlineMs, resolve, reject });
    });
    if (!this.perTurn) this.pump(address, route);
    else if (!route.scheduled && route.inFlight < this.maxCalls) {
      // A full route needs no turn end: the next returning call takes the queue.
      route.scheduled = true;
      setImmediate(() => {
        route.scheduled = false;
        this.pump(address, route);
      });
    }
    return done;
  }

  /** Items waiting for a call slot, over all addresses. */
  get queued(): number {
    let n = 0;
    for (const r of this.routes.values()) n += r.queue.length;
    return n;
  }

  private pump(address: string, route: Route<V>): void {
    while (route.inFlight < this.maxCalls && route.queue.length > 0) {
      const now = this.now();
      const batch: Pending<V>[] = [];
      while (batch.length < this.maxBatch && route.queue.length > 0) {
        const p = route.queue.shift() as Pending<V>;
        if (p.deadlineAt <= now) p.reject(new ReportDeadlineExceededError());
        else batch.push(p);
      }
      if (batch.length === 0) break;
      route.inFlight++;
      void this.send(address, route, batch, now).finally(() => {
        route.inFlight--;
        // Routes are kept like GrpcClientPool keeps clients: one per reply_to address.
        if (route.queue.length > 0) this.pump(address, route);
      });
    }
  }

  private async send(address: string, route: Route<V>, batch: Pending<V>[], now: number): Promise<void> {
    // The edge drops verdicts that arrive after its own deadline, so the call
    // may use the most generous budget in the batch.
    const deadlineMs = Math.max(1, Math.max(...batch.map((p) => p.deadlineAt)) - now);
    if (!route.unaryOnly) {
      try {
        await this.options.sendBatch(
          address,
          batch.map((p) => p.item),
          deadlineMs,
        );
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        if (!isUnimplemented(err)) {
          for (const p of batch) p.reject(err);
          return;
        }
        route.unaryOnly = true;
      }
    }
    await Promise.all(
      batch.map((p) =>
        this.options.sendOne(address, p.item, Math.max(1, p.deadlineAt - this.now())).then(
          () => p.resolve(),
          (err: unknown) => p.reject(err),
        ),
      ),
    );
  }
}

export interface VerdictReplyOptions<V> extends CoalescingReporterOptions<V> {
  /** The asker's budget for a verdict, counted from the request's arrival. */
  budgetMs: number;
  /** Counts replies by outcome ("ok" | "error"). */
  replies: { inc(labels: { outcome: "ok" | "error" }): void };
  /** Warns about a reply that did not reach the asker. */
  onFailure(address: string, verdict: V, err: unknown): void;
}

/**
 * How a verdict worker (spf, dmarc) answers: through a CoalescingReporter, within
 * what is left of the budget, counted; a failed reply is logged, never thrown.
 */
export function verdictReplier<V>(options: VerdictReplyOptions<V>): (address: string, verdict: V, receivedAt: number) => Promise<void> {
  const reporter = new CoalescingReporter<V>(options);
  const now = options.now ?? (() => performance.now());
  return async (address, verdict, receivedAt) => {
    try {
      await reporter.report(address, verdict, Math.max(1, options.budgetMs - (now() - receivedAt)));
      options.replies.inc({ outcome: "ok" });
    } catch (err) {
      options.replies.inc({ outcome: "error" });
      options.onFailure(address, verdict, err);
    }
  };
}
