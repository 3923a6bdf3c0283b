import { ShutdownError } from "./errors";
import { createShutdown } from "./shutdown";
import { memoryLogger } from "./testlog";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("shutdown", () => {
  it("runs closers in reverse order, async ones awaited, and aborts the signal first", async () => {
    const { logger } = memoryLogger();
    const shutdown = createShutdown({ logger });
    const order: string[] = [];
    shutdown.add("first", () => {
      order.push(`first aborted=${shutdown.signal.aborted}`);
    });
    shutdown.add("second", async () => {
      await sleep(20);
      order.push("second");
    });
    shutdown.add("third", () => {
      order.push("third");
    });
    await shutdown.trigger("test");
    expect(order).toEqual(["third", "second", "first aborted=true"]);
    expect(shutdown.signal.reason).toBeInstanceOf(ShutdownError);
    expect((shutdown.signal.reason as ShutdownError).reason).toBe("test");
  });

  it("bounds each closer by its timeout and carries on; failures are logged, not thrown", async () => {
    const { logger, lines } = memoryLogger();
    const shutdown = createShutdown({ logger, timeoutMs: 50 });
    const order: string[] = [];
    shutdown.add("last", () => {
      order.push("last");
    });
    shutdown.add("fails", () => {
      throw new Error("nope");
    });
    shutdown.add("hangs", () => new Promise<void>(() => undefined));
    shutdown.add("slow but allowed", () => sleep(120).then(() => void order.push("slow")), { timeoutMs: 1000 });
    const started = Date.now();
    await shutdown.trigger("test");
    expect(order).toEqual(["slow", "last"]);
    expect(Date.now() - started).toBeLessThan(1000);
    const failed = lines.filter((l) => l.msg === "shutdown closer failed").map((l) => [l.closer, (l.err as { type: string }).type]);
    expect(failed).toEqual([
      ["hangs", "TimeoutError"],
      ["fails", "Error"],
    ]);
  });

  it("trigger is idempotent", async () => {
    const shutdown = createShutdown({ logger: memoryLogger().logger });
    let calls = 0;
    shutdown.add("once", () => void calls++);
    const a = shutdown.trigger("a");
    const b = shutdown.trigger("b");
    expect(a).toBe(b);
    await Promise.all([a, b, shutdown.trigger("c")]);
    expect(calls).toBe(1);
    expect((shutdown.signal.reason as ShutdownError).reason).toBe("a");
  });

  it("closes a closer added after shutdown began", async () => {
    const shutdown = createShutdown({ logger: memoryLogger().logger });
    await shutdown.trigger("early");
    let closed = false;
    shutdown.add("late", () => void (closed = true));
    await shutdown.trigger("again");
    expect(closed).toBe(true);
  });

  it("SIGTERM triggers then exits 0; a second signal exits 1 at once", async () => {
    const exits: number[] = [];
    const shutdown = createShutdown({ logger: memoryLogger().logger, exit: (code) => void exits.push(code), timeoutMs: 5000 });
    let release: () => void = () => undefined;
    shutdown.add("slow", () => new Promise<void>((r) => (release = r)));
    const before = process.listenerCount("SIGTERM");
    const uninstall = shutdown.installSignalHandlers();
    expect(process.listenerCount("SIGTERM")).toBe(before + 1);
    try {
      process.emit("SIGTERM");
      expect(shutdown.signal.aborted).toBe(true);
      process.emit("SIGINT");
      expect(exits).toEqual([1]);
      await sleep(10); // let the closer start
      const released = Date.now();
      release();
      await shutdown.trigger("x");
      expect(Date.now() - released).toBeLessThan(1000);
      await sleep(0);
      expect(exits).toEqual([1, 0]);
    } finally {
      uninstall();
    }
    expect(process.listenerCount("SIGTERM")).toBe(before);
  });
});
