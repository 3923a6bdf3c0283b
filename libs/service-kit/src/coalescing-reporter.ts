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
 *
 * Mode "stream" (when `openStream` is given): one long-lived client-streaming
 * call per address instead of a call per batch; each flush is one message on
 * it, i.e. one HTTP/2 DATA frame instead of a new stream with headers and
 * trailers at both ends. The stream is opened at the first flush, a write that
 * returns false holds the queue until 'drain', and a stream that ends or fails
 * is reopened at the first flush after a backoff (100 ms doubling to 5 s),
 * batches going by calls meanwhile. Delivery (docs/adr/0006, "Streams"):
 * - items written before the edge took the stream (its response headers) are
 *   only resolved once it has; if it answers UNIMPLEMENTED they are sent by
 *   calls (batch, then unary) and the address keeps that path; any other
 *   refusal (auth, unreachable) rejects them like a failed call;
 * - afterwards an item resolves once its message is written to the stream;
 * - items whose write had not completed when the stream fails are rejected
 *   with its error; items written that are still within their budget are
 *   not known delivered and go to `onLost` (the caller counts them as failed
 *   replies, as for a failed call; no retry, the edge concludes temperror);
 * - close() half-closes each stream and waits briefly for the edge's Ack,
 *   which confirms every message before it; later items go by calls.
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
  /**
   * "stream" (default when openStream is given): batches go as messages of one long-lived call per
   * address; "batch": one sendBatch call per batch, as before streams.
   */
  mode?: "stream" | "batch";
  /** Opens the verdict stream to one address; `done` gets the call's status when it ends (null: OK). */
  openStream?(address: string, done: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<{ verdicts: V[] }>;
  /** Items written to a stream that then failed within their budget, by idOf: not known delivered. */
  onLost?(address: string, ids: string[], err: unknown): void;
  /**
   * What a written item leaves behind for onLost (default: an empty string; only the count is
   * told). Only this id is kept for the item's budget, never the item: see WrittenLog.
   */
  idOf?: (item: V) => string;
  /** How long close() waits for the edges to acknowledge the end of their streams (default 1000 ms). */
  closeGraceMs?: number;
}

/** The verdict stream ended while an item's message was being written. */
export class ReportStreamEndedError extends Error {
  override readonly name = "ReportStreamEndedError";
  constructor(options?: ErrorOptions) {
    super("the verdict stream ended before the verdict was written", options);
  }
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
  /** the open verdict stream, if any */
  stream?: StreamState<V>;
  /** the peer answered UNIMPLEMENTED to the stream: calls from now on */
  noStream: boolean;
  /** no new stream before this time (backoff after a failure) */
  streamRetryAt: number;
  streamBackoffMs: number;
}

interface StreamState<V> {
  call: grpc.ClientWritableStream<{ verdicts: V[] }>;
  /** the peer sent its response headers: it took the stream */
  accepted: boolean;
  /** write() returned false: wait for 'drain' */
  blocked: boolean;
  /** we half-closed it (close()) */
  ending: boolean;
  ended: boolean;
  /** batches not resolved yet, each with whether its write has completed (before the peer took the stream) */
  unsettled: Map<Pending<V>[], boolean>;
  /** items written since the peer took the stream, still within their budget */
  written: WrittenLog;
  /** resolves when the call has ended */
  finished: Promise<void>;
  /** armed while items are unsettled: see watch() */
  watchdog?: NodeJS.Timeout;
}

/**
 * The ids and deadlines of items written to a stream, oldest first, kept for their budget so that
 * a stream failing later can say which verdicts are not known delivered. Ids, not items: at
 * bench:spf's 2,000 verdicts/s a 5 s budget kept 10,000 verdicts (with their header strings)
 * alive; each survived a scavenge or two, and those copies made the spf worker's scavenges
 * 5-20 ms long, the largest part of the round trip's p99 (docs/adr/0006, addendum).
 */
export class WrittenLog {
  private ids: string[] = [];
  private deadlines: number[] = [];
  private head = 0;

  push(id: string, deadlineAt: number): void {
    this.ids.push(id);
    this.deadlines.push(deadlineAt);
  }

  /** Forgets the oldest entries whose budget has run out (budgets differ: later ones may have run out too). */
  expire(now: number): void {
    while (this.head < this.deadlines.length && (this.deadlines[this.head] as number) <= now) this.head++;
    if (this.head === this.deadlines.length) this.clear();
    else if (this.head >= 1024 && this.head * 2 >= this.deadlines.length) {
      this.ids = this.ids.slice(this.head);
      this.deadlines = this.deadlines.slice(this.head);
      this.head = 0;
    }
  }

  /** Ids still within their budget at `now`. */
  live(now: number): string[] {
    const ids: string[] = [];
    for (let i = this.head; i < this.deadlines.length; i++) if ((this.deadlines[i] as number) > now) ids.push(this.ids[i] as string);
    return ids;
  }

  get size(): number {
    return this.deadlines.length - this.head;
  }

  clear(): void {
    this.ids = [];
    this.deadlines = [];
    this.head = 0;
  }
}

const STREAM_BACKOFF_MIN_MS = 100;
const STREAM_BACKOFF_MAX_MS = 5_000;

function isUnimplemented(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === grpc.status.UNIMPLEMENTED;
}

export class CoalescingReporter<V> {
  private readonly routes = new Map<string, Route<V>>();
  private readonly maxBatch: number;
  private readonly maxCalls: number;
  private readonly perTurn: boolean;
  private readonly now: () => number;
  private readonly streams: boolean;
  private closing = false;

  constructor(private readonly options: CoalescingReporterOptions<V>) {
    this.maxBatch = options.maxBatch ?? 256;
    this.maxCalls = options.maxCallsPerAddress ?? 2;
    this.perTurn = (options.flush ?? "turn") === "turn";
    this.now = options.now ?? (() => performance.now());
    this.streams = options.openStream !== undefined && (options.mode ?? "stream") === "stream";
  }

  /** Resolves when the peer acknowledged the item; rejects with the call's error or ReportDeadlineExceededError. */
  report(address: string, item: V, deadlineMs: number): Promise<void> {
    let route = this.routes.get(address);
    if (route === undefined) {
      route = { queue: [], inFlight: 0, unaryOnly: false, scheduled: false, noStream: false, streamRetryAt: 0, streamBackoffMs: STREAM_BACKOFF_MIN_MS };
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

  /** Open verdict streams, over all addresses. */
  get openStreams(): number {
    let n = 0;
    for (const r of this.routes.values()) if (r.stream !== undefined) n++;
    return n;
  }

  /**
   * Half-closes every verdict stream and waits up to closeGraceMs for the peers' Ack (which confirms
   * all that was written); streams still open then are cancelled. Later items go by calls.
   */
  async close(): Promise<void> {
    this.closing = true;
    const open = [...this.routes.values()].flatMap((r) => (r.stream === undefined ? [] : [r.stream]));
    for (const s of open) {
      s.ending = true;
      s.call.end();
    }
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.closeGraceMs ?? 1_000);
      timer.unref();
    });
    await Promise.race([Promise.all(open.map((s) => s.finished)), grace]);
    clearTimeout(timer);
    for (const s of open) if (!s.ended) s.call.cancel();
  }

  private pump(address: string, route: Route<V>): void {
    if (this.streams && !route.noStream && !this.closing) {
      if (route.stream === undefined && route.queue.length > 0 && this.now() >= route.streamRetryAt) route.stream = this.openStream(address, route);
      if (route.stream !== undefined) return this.writeStream(route, route.stream);
      // backing off after a failed stream: batches go by calls until the next attempt
    }
    while (route.inFlight < this.maxCalls && route.queue.length > 0) {
      const batch = this.takeBatch(route);
      if (batch.length === 0) break;
      route.inFlight++;
      void this.send(address, route, batch, this.now()).finally(() => {
        route.inFlight--;
        // Routes are kept like GrpcClientPool keeps clients: one per reply_to address.
        if (route.queue.length > 0) this.pump(address, route);
      });
    }
  }

  private takeBatch(route: Route<V>): Pending<V>[] {
    const now = this.now();
    const batch: Pending<V>[] = [];
    while (batch.length < this.maxBatch && route.queue.length > 0) {
      const p = route.queue.shift() as Pending<V>;
      if (p.deadlineAt <= now) p.reject(new ReportDeadlineExceededError());
      else batch.push(p);
    }
    return batch;
  }

  private openStream(address: string, route: Route<V>): StreamState<V> {
    let finish = (): void => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const s: StreamState<V> = {
      // assigned just below: the call needs its `done`, which needs `s`
      call: undefined as unknown as grpc.ClientWritableStream<{ verdicts: V[] }>,
      accepted: false,
      blocked: false,
      ending: false,
      ended: false,
      unsettled: new Map(),
      written: new WrittenLog(),
      finished,
    };
    s.call = (this.options.openStream as NonNullable<CoalescingReporterOptions<V>["openStream"]>)(address, (err) => {
      s.ended = true;
      finish();
      this.streamEnded(address, route, s, err);
    });
    s.call.on("metadata", () => {
      if (s.ended) return;
      s.accepted = true;
      route.streamBackoffMs = STREAM_BACKOFF_MIN_MS;
      // what was written before the peer took the stream: its writes may have completed already
      for (const [batch, written] of s.unsettled) if (written) this.settleWritten(s, batch);
    });
    return s;
  }

  private settleWritten(s: StreamState<V>, batch: Pending<V>[]): void {
    s.unsettled.delete(batch);
    s.written.expire(this.now());
    const idOf = this.options.idOf;
    for (const p of batch) {
      s.written.push(idOf === undefined ? "" : idOf(p.item), p.deadlineAt);
      p.resolve();
    }
  }

  private writeStream(route: Route<V>, s: StreamState<V>): void {
    while (!s.blocked && route.queue.length > 0) {
      const batch = this.takeBatch(route);
      if (batch.length === 0) return;
      s.unsettled.set(batch, false);
      const ok = s.call.write({ verdicts: batch.map((p) => p.item) }, (err: unknown) => {
        if (err !== undefined && err !== null) return; // the call's end reports it
        if (s.ended || !s.unsettled.has(batch)) return;
        if (s.accepted) this.settleWritten(s, batch);
        else s.unsettled.set(batch, true);
      });
      if (s.watchdog === undefined) this.watch(s);
      if (!ok) {
        s.blocked = true;
        s.call.once("drain", () => {
          s.blocked = false;
          if (!s.ended && !s.ending) this.writeStream(route, s);
        });
      }
    }
  }

  /**
   * A stream has no deadline. A peer that never takes it (a connection that never completes
   * its HTTP/2 handshake) or stops reading (a hung edge, a half-open connection) would hold the
   * unsettled items, and the callers waiting on them, for good: once one of them has run out of
   * budget unsettled, the stream is given up (the call ends CANCELLED, its items are rejected,
   * and later ones go by calls with deadlines until it reopens). A half-open connection whose
   * writes still complete (into the kernel's buffer) leaves nothing unsettled: the channel's
   * HTTP/2 keepalive (clientChannelOptions) ends it UNAVAILABLE, handled in streamEnded.
   */
  private watch(s: StreamState<V>): void {
    let earliest = Infinity;
    for (const batch of s.unsettled.keys()) for (const p of batch) earliest = Math.min(earliest, p.deadlineAt);
    if (earliest === Infinity || s.ended) {
      s.watchdog = undefined;
      return;
    }
    const now = this.now();
    if (earliest <= now) {
      s.watchdog = undefined;
      s.call.cancel();
      return;
    }
    s.watchdog = setTimeout(() => this.watch(s), earliest - now);
    s.watchdog.unref();
  }

  private streamEnded(address: string, route: Route<V>, s: StreamState<V>, err: grpc.ServiceError | null): void {
    clearTimeout(s.watchdog);
    if (route.stream === s) route.stream = undefined;
    const unsettled = [...s.unsettled.keys()].flat();
    s.unsettled.clear();
    if (err === null && s.ending) {
      // the peer answered our half-close: it has handled every message before it
      for (const p of unsettled) p.resolve();
    } else if (isUnimplemented(err)) {
      // an edge without the stream methods handled none of it: the same items go by calls
      route.noStream = true;
      route.queue.unshift(...unsettled);
    } else if (err === null) {
      // the peer ended the call itself with OK (an edge shutting down answers its open streams): it handled what it
      // read before; what may not have reached it goes again by calls (a repeat of a verdict it had is dropped there)
      route.queue.unshift(...unsettled);
    } else {
      const cause = err ?? new ReportStreamEndedError();
      for (const p of unsettled) p.reject(cause);
      const lost = s.written.live(this.now());
      if (lost.length > 0) this.options.onLost?.(address, lost, cause);
    }
    s.written.clear();
    if (!s.ending) {
      route.streamRetryAt = this.now() + route.streamBackoffMs;
      route.streamBackoffMs = Math.min(route.streamBackoffMs * 2, STREAM_BACKOFF_MAX_MS);
    }
    if (route.queue.length > 0) this.pump(address, route);
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
  /** The verdict's id for onFailure (its txn_id). */
  idOf: (verdict: V) => string;
  /** Warns about a reply that did not reach the asker (by its id: a verdict lost on a stream is known by id only). */
  onFailure(address: string, id: string, err: unknown): void;
}

/** A verdict worker's reply function; close() ends its verdict streams (at shutdown). */
export interface VerdictReplier<V> {
  (address: string, verdict: V, receivedAt: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * How a verdict worker (spf, dmarc) answers: through a CoalescingReporter, within
 * what is left of the budget, counted; a failed reply is logged, never thrown.
 * In stream mode a verdict counts "ok" once written to the open stream; verdicts
 * written to a stream that then fails within their budget are not known delivered
 * and count "error" as well (and are logged), as a failed call's would.
 */
export function verdictReplier<V>(options: VerdictReplyOptions<V>): VerdictReplier<V> {
  const reporter = new CoalescingReporter<V>({
    ...options,
    onLost: (address, ids, err) => {
      for (const id of ids) {
        options.replies.inc({ outcome: "error" });
        options.onFailure(address, id, err);
      }
    },
  });
  const now = options.now ?? (() => performance.now());
  const reply = async (address: string, verdict: V, receivedAt: number): Promise<void> => {
    try {
      await reporter.report(address, verdict, Math.max(1, options.budgetMs - (now() - receivedAt)));
      options.replies.inc({ outcome: "ok" });
    } catch (err) {
      options.replies.inc({ outcome: "error" });
      options.onFailure(address, options.idOf(verdict), err);
    }
  };
  return Object.assign(reply, { close: () => reporter.close() });
}

/**
 * The verdict streams open on this server. A grpc-js server's graceful shutdown waits for every
 * open call, and a worker's stream never ends by itself; end() answers each one (its ack, status OK)
 * so the shutdown does not wait for its forced deadline. The workers reopen elsewhere or later.
 */
export class VerdictStreams {
  private readonly open = new Set<() => void>();

  /** Handles the messages of one stream with `onMessage`; answers `ack` when the worker half-closes. */
  serve<M, A>(call: grpc.ServerReadableStream<M, A>, callback: grpc.sendUnaryData<A>, onMessage: (message: M) => void, ack: A): void {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.open.delete(finish);
      callback(null, ack);
    };
    this.open.add(finish);
    // Headers now rather than with the Ack: they tell the worker that this edge took the stream
    // (authenticated, method known), so what it writes from then on is handled.
    call.sendMetadata(new grpc.Metadata());
    call.on("data", onMessage);
    call.on("end", finish);
    const gone = (): void => {
      // cancelled by the worker or the connection broke: nobody is left to answer
      done = true;
      this.open.delete(finish);
    };
    call.on("error", gone);
    call.on("cancelled", gone);
  }

  get size(): number {
    return this.open.size;
  }

  /** Answers every open stream (its ack); later messages on them are discarded by grpc-js. */
  end(): void {
    for (const finish of [...this.open]) finish();
  }
}
