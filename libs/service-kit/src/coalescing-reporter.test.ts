import * as grpc from "@grpc/grpc-js";
import { CoalescingReporter, ReportDeadlineExceededError } from "./coalescing-reporter";

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
