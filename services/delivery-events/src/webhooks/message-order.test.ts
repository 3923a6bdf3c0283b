import { KeyedQueue, MessageOrder, Semaphore } from "./message-order";

describe("MessageOrder", () => {
  type Step = ["wait", string, number, number, number] | ["deferred", string, number, number] | ["settled", string, number];
  it.each<[string, Step[]]>([
    ["nothing outstanding: every event goes", [["wait", "m1", 5, 0, 0]]],
    [
      "a later event waits for the earlier one's retry",
      [
        ["deferred", "m1", 5, 1000],
        ["wait", "m1", 6, 200, 900],
        ["wait", "m1", 5, 1000, 0],
        ["wait", "m1", 4, 200, 0],
        ["wait", "m2", 7, 200, 0],
      ],
    ],
    [
      "after the retry is due, later events poll in steps",
      [
        ["deferred", "m1", 5, 1000],
        ["wait", "m1", 6, 1500, 100],
      ],
    ],
    [
      "settling releases the message",
      [
        ["deferred", "m1", 5, 1000],
        ["settled", "m1", 5],
        ["wait", "m1", 6, 200, 0],
      ],
    ],
    [
      "held events keep their order when redelivered out of order",
      [
        ["deferred", "m1", 5, 1000],
        ["deferred", "m1", 6, 1100],
        ["deferred", "m1", 7, 1100],
        ["settled", "m1", 5],
        ["wait", "m1", 7, 1100, 100],
        ["wait", "m1", 6, 1100, 0],
        ["settled", "m1", 6],
        ["wait", "m1", 7, 1200, 0],
      ],
    ],
    [
      "the longest wait of the earlier events counts",
      [
        ["deferred", "m1", 5, 1000],
        ["deferred", "m1", 6, 5000],
        ["wait", "m1", 7, 0, 5100],
      ],
    ],
    [
      "an entry lapses graceMs after it was due",
      [
        ["deferred", "m1", 5, 1000],
        ["wait", "m1", 6, 60_999, 100],
        ["wait", "m1", 6, 61_000, 0],
      ],
    ],
  ])("%s", (_label, steps) => {
    const order = new MessageOrder(60_000, 100);
    for (const step of steps) {
      if (step[0] === "wait") expect([step, order.waitMs(step[1], step[2], step[3])]).toEqual([step, step[4]]);
      else if (step[0] === "deferred") order.deferred(step[1], step[2], step[3]);
      else order.settled(step[1], step[2]);
    }
  });

  it("forgets messages once nothing is outstanding", () => {
    const order = new MessageOrder(60_000);
    order.deferred("m1", 1, 10);
    order.settled("m1", 1);
    order.deferred("m2", 1, 10);
    expect(order.waitMs("m2", 2, 70_010)).toBe(0);
    expect(order.size).toBe(0);
  });
});

describe("KeyedQueue", () => {
  const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it("runs one key's tasks in order and different keys concurrently", async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const task = (name: string, ms: number) => async (): Promise<void> => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
    };
    await Promise.all([queue.run("a", task("a1", 30)), queue.run("a", task("a2", 1)), queue.run("b", task("b1", 5))]);
    expect(log).toEqual(["start a1", "start b1", "end b1", "end a1", "start a2", "end a2"]);
    await tick(0);
    expect(queue.size).toBe(0);
  });

  it("goes on after a failed task", async () => {
    const queue = new KeyedQueue();
    const failed = queue.run("a", () => Promise.reject(new Error("boom")));
    const next = queue.run("a", () => Promise.resolve());
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBeUndefined();
  });
});

describe("Semaphore", () => {
  it("lets `limit` holders in and the next ones in order as they release", async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    await sem.acquire();
    await sem.acquire();
    const third = sem.acquire().then(() => order.push(3));
    const fourth = sem.acquire().then(() => order.push(4));
    expect(sem.inUse).toBe(2);
    sem.release();
    await third;
    expect(order).toEqual([3]);
    sem.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    sem.release();
    sem.release();
    expect(sem.inUse).toBe(0);
  });
});
