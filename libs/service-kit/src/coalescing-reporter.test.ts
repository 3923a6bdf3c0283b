import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { CoalescingReporter, ReportDeadlineExceededError, WrittenLog } from "./coalescing-reporter";

/** A peer whose calls complete only when the test says so. */
function fakePeer(options: { unimplementedBatch?: boolean; failWith?: Error; flush?: "turn" | "immediate"; maxCallsPerAddress?: number } = {}) {
  const batches: { address: string; items: number[]; deadlineMs: number }[] = [];
  const singles: number[] = [];
  const open: (() => void)[] = [];
  const reporter = new CoalescingReporter<number>({
    maxBatch: 3,
    maxCallsPerAddress: options.maxCallsPerAddress ?? 1,
    // the slot and deadline tests below follow each report; the per-turn tests pass "turn"
    flush: options.flush ?? "immediate",
    now: () => clock.t,
    sendBatch: (address, items, deadlineMs) => {
      batches.push({ address, items, deadlineMs });
      if (options.unimplementedBatch) return Promise.reject(Object.assign(new Error("unimplemented"), { code: grpc.status.UNIMPLEMENTED }));
      if (options.failWith) return Promise.reject(options.failWith);
      return new Promise<void>((resolve) => open.push(resolve));
    },
    sendOne: (_address, item) => {
      singles.push(item);
      return Promise.resolve();
    },
  });
  const clock = { t: 0 };
  const settle = () => new Promise((r) => setImmediate(r));
  const completeNext = async () => {
    open.shift()?.();
    await settle();
  };
  return { reporter, batches, singles, clock, completeNext, settle };
}

describe("CoalescingReporter", () => {
  it("sends at once when idle and coalesces what arrives while a call is in flight", async () => {
    const peer = fakePeer();
    const done = [1, 2, 3, 4, 5, 6].map((n) => peer.reporter.report("edge-a:1", n, 1000));
    await peer.settle();
    expect(peer.batches.map((b) => b.items)).toEqual([[1]]);
    expect(peer.reporter.queued).toBe(5);
    await peer.completeNext();
    expect(peer.batches.map((b) => b.items)).toEqual([[1], [2, 3, 4]]);
    await peer.completeNext();
    await peer.completeNext();
    expect(peer.batches.map((b) => b.items)).toEqual([[1], [2, 3, 4], [5, 6]]);
    await expect(Promise.all(done)).resolves.toHaveLength(6);
  });

  it("by default sends what one event-loop turn reported together, at the end of that turn", async () => {
    const peer = fakePeer({ flush: "turn", maxCallsPerAddress: 2 });
    const done = [1, 2].map((n) => peer.reporter.report("edge-a:1", n, 1000));
    await Promise.resolve();
    expect(peer.batches).toEqual([]); // not before the turn ends
    await peer.settle();
    expect(peer.batches.map((b) => b.items)).toEqual([[1, 2]]);
    // a second turn while one call is in flight takes the second slot
    done.push(peer.reporter.report("edge-a:1", 3, 1000), peer.reporter.report("edge-a:1", 4, 1000));
    await peer.settle();
    expect(peer.batches.map((b) => b.items)).toEqual([[1, 2], [3, 4]]);
    // with both slots taken, later turns queue until a call returns
    done.push(peer.reporter.report("edge-a:1", 5, 1000));
    await peer.settle();
    done.push(peer.reporter.report("edge-a:1", 6, 1000));
    await peer.settle();
    expect(peer.batches).toHaveLength(2);
    await peer.completeNext();
    expect(peer.batches.map((b) => b.items)).toEqual([[1, 2], [3, 4], [5, 6]]);
    await peer.completeNext();
    await peer.completeNext();
    await expect(Promise.all(done)).resolves.toHaveLength(6);
  });

  it("keeps addresses apart", async () => {
    const peer = fakePeer();
    const done = [peer.reporter.report("a:1", 1, 1000), peer.reporter.report("b:1", 2, 1000)];
    await peer.settle();
    expect(peer.batches.map((b) => [b.address, b.items])).toEqual([
      ["a:1", [1]],
      ["b:1", [2]],
    ]);
    await peer.completeNext();
    await peer.completeNext();
    await Promise.all(done);
  });

  it("drops an item whose budget ran out while it waited, and gives the call the largest budget left", async () => {
    const peer = fakePeer();
    const first = peer.reporter.report("a:1", 1, 1000);
    const late = peer.reporter.report("a:1", 2, 10);
    const later = peer.reporter.report("a:1", 3, 500);
    peer.clock.t = 100;
    await peer.completeNext();
    await first;
    await expect(late).rejects.toBeInstanceOf(ReportDeadlineExceededError);
    expect(peer.batches[1]).toEqual({ address: "a:1", items: [3], deadlineMs: 400 });
    await peer.completeNext();
    await later;
  });

  it("falls back to one call per item for a peer without the batched method, and remembers it", async () => {
    const peer = fakePeer({ unimplementedBatch: true });
    await Promise.all([peer.reporter.report("old:1", 1, 1000), peer.reporter.report("old:1", 2, 1000)]);
    await peer.reporter.report("old:1", 3, 1000);
    expect(peer.singles).toEqual([1, 2, 3]);
    expect(peer.batches).toHaveLength(1);
  });

  it("rejects every item of a failed call with its error", async () => {
    const failure = new Error("connection refused");
    const peer = fakePeer({ failWith: failure });
    await expect(peer.reporter.report("a:1", 1, 1000)).rejects.toBe(failure);
  });
});

describe("WrittenLog", () => {
  it.each([
    { name: "nothing written", pushes: [], expireAt: 0, liveAt: 0, live: [] },
    { name: "all within budget", pushes: [["a", 10], ["b", 20]], expireAt: 5, liveAt: 5, live: ["a", "b"] },
    { name: "the oldest ran out", pushes: [["a", 10], ["b", 20]], expireAt: 10, liveAt: 10, live: ["b"] },
    { name: "a later one ran out first (budgets differ): live() skips it", pushes: [["a", 30], ["b", 10], ["c", 40]], expireAt: 15, liveAt: 15, live: ["a", "c"] },
    { name: "all ran out", pushes: [["a", 10], ["b", 20]], expireAt: 25, liveAt: 25, live: [] },
  ] as { name: string; pushes: [string, number][]; expireAt: number; liveAt: number; live: string[] }[])("$name", ({ pushes, expireAt, liveAt, live }) => {
    const log = new WrittenLog();
    for (const [id, at] of pushes) log.push(id, at);
    log.expire(expireAt);
    expect(log.live(liveAt)).toEqual(live);
  });

  it("compacts as entries expire, and keeps what is live", () => {
    const log = new WrittenLog();
    for (let t = 0; t < 100_000; t++) {
      log.push(`id${t}`, t + 100);
      log.expire(t);
    }
    expect(log.size).toBeLessThanOrEqual(2_200);
    expect(log.live(99_999)).toEqual(Array.from({ length: 100 }, (_, i) => `id${99_900 + i}`));
    log.clear();
    expect(log.size).toBe(0);
  });
});

/** A client-streaming call that takes every write at once; fail() ends it with an error. */
class FakeStream extends EventEmitter {
  readonly messages: number[][] = [];
  private done: ((err: grpc.ServiceError | null) => void) | undefined;
  constructor(done: (err: grpc.ServiceError | null) => void) {
    super();
    this.done = done;
    setImmediate(() => this.emit("metadata", new grpc.Metadata()));
  }
  write(message: { verdicts: number[] }, cb: (err?: unknown) => void): boolean {
    this.messages.push(message.verdicts);
    setImmediate(() => cb());
    return true;
  }
  end(): void {}
  cancel(): void {
    this.fail(Object.assign(new Error("cancelled"), { code: grpc.status.CANCELLED }) as grpc.ServiceError);
  }
  fail(err: grpc.ServiceError): void {
    const done = this.done;
    this.done = undefined;
    done?.(err);
  }
}

describe("CoalescingReporter, stream mode", () => {
  it("tells onLost the ids of items written within their budget when the stream fails, not of those past it", async () => {
    const clock = { t: 0 };
    const streams: FakeStream[] = [];
    const lost: string[][] = [];
    const reporter = new CoalescingReporter<number>({
      sendBatch: () => Promise.reject(new Error("no calls expected")),
      sendOne: () => Promise.reject(new Error("no calls expected")),
      now: () => clock.t,
      openStream: (_address, done) => {
        const s = new FakeStream(done);
        streams.push(s);
        return s as unknown as grpc.ClientWritableStream<{ verdicts: number[] }>;
      },
      idOf: (n) => `txn-${n}`,
      onLost: (_address, ids) => lost.push(ids),
    });
    await Promise.all([reporter.report("a:1", 1, 100), reporter.report("a:1", 2, 1_000)]);
    clock.t = 500;
    await reporter.report("a:1", 3, 1_000);
    expect(streams).toHaveLength(1);
    expect(streams[0]?.messages).toEqual([[1, 2], [3]]);
    streams[0]?.fail(Object.assign(new Error("connection reset"), { code: grpc.status.UNAVAILABLE }) as grpc.ServiceError);
    // 1's budget ended at 100: the edge had given up on it anyway
    expect(lost).toEqual([["txn-2", "txn-3"]]);
  });
});
