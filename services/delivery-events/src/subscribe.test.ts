import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { type Bus, connectBus, natsConfigSchema, streamNames } from "@postern/bus";
import type { Event } from "@postern/proto";
import { type Backend, startNats } from "@postern/testing";
import { durableNames } from "./names";
import { collect, eventually, type Instance, sleep, startInstance } from "./testing/harness";

describe("Events.Subscribe: filters, start positions, durable subscriptions", () => {
  let nats: Backend;
  let a: Instance;
  let b: Instance;
  let bus: Bus;

  beforeAll(async () => {
    nats = await startNats();
    [a, b] = await Promise.all([startInstance(nats, { subscription_max_in_flight: 16 }), startInstance(nats, { subscription_max_in_flight: 16 })]);
    bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "test", logger: pino({ level: "silent" }) });
  }, 30_000);

  afterAll(async () => {
    await bus?.drain();
    await Promise.all([a?.stop(), b?.stop()]);
    await nats?.stop();
  });

  const seqs = (events: Event[]): number[] => events.map((e) => Number(e.sequence));

  it("filters by sender and recipient domain, and starts at a time", async () => {
    await a.record({ id: "f1", name: "msg:delivery", senderAddress: "a@example.org", deliveryDomain: "example.net" });
    await a.record({ id: "f2", name: "msg:delivery", senderAddress: "b@Example.ORG", deliveryDomain: "mx.example.net" });
    await sleep(20);
    const since = new Date();
    await sleep(20);
    await a.record({ id: "f3", name: "msg:rcpt:defer", senderAddress: "c@other.test", deliveryDomain: "a.example.net" });
    await a.record({ id: "f4", name: "msg:delivery", senderAddress: "", deliveryDomain: "example.com" });

    const cases: Array<[Parameters<typeof collect>[1], string[]]> = [
      [{ fromStart: true, senderDomains: ["example.org"] }, ["f1", "f2"]],
      [{ fromStart: true, recipientDomains: ["*.example.net"] }, ["f2", "f3"]],
      [{ fromStart: true, recipientDomains: ["example.net", "example.com"], names: ["msg:delivery"] }, ["f1", "f4"]],
      [{ fromStart: true, senderDomains: ["example.org", "other.test"], recipientDomains: ["a.example.net"] }, ["f3"]],
      [{ startTime: since }, ["f3", "f4"]],
    ];
    for (const [request, want] of cases) {
      const c = collect(a.events, request);
      await c.waitFor(want.length);
      await sleep(100);
      c.cancel();
      expect([request, c.events.map((e) => e.id)]).toEqual([request, want]);
    }
  });

  it.each([
    ["a bad domain", { senderDomains: ["exa mple"] }],
    ["from_start with start_time", { fromStart: true, startTime: new Date() }],
    ["a bad durable name", { durableName: "no spaces" }],
  ])("refuses %s with INVALID_ARGUMENT", async (_label, request) => {
    const status = await collect(a.events, request).ended;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  async function recordMany(instance: Instance, prefix: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await instance.record({ id: `${prefix}-${i}`, name: i % 3 === 0 ? "msg:rcpt:defer" : "msg:delivery", messageId: prefix });
  }

  it("resumes a durable subscription after a disconnect with every event exactly once, in sequence order", async () => {
    await recordMany(a, "dur", 30);
    const request = { durableName: "resume-1", fromStart: true, messageId: "dur" };
    const first = collect(a.events, request, { stopAfter: 7 });
    await first.ended;
    expect(first.events).toHaveLength(7);
    // Stored while the subscriber is away.
    for (let i = 30; i < 40; i++) await b.record({ id: `dur-${i}`, name: "msg:delivery", messageId: "dur" });

    // Resumed on the other instance, reporting the last sequence processed.
    const last = first.events[first.events.length - 1]?.sequence ?? "0";
    const second = collect(b.events, { durableName: "resume-1", afterSequence: last });
    await second.waitFor(33);
    await sleep(300);
    second.cancel();

    const all = [...first.events, ...second.events];
    expect(all.map((e) => e.id)).toEqual(Array.from({ length: 40 }, (_, i) => `dur-${i}`));
    expect(seqs(all)).toEqual([...seqs(all)].sort((x, y) => x - y));
  });

  it("resumes without after_sequence in order and without gaps (at least once for events in flight)", async () => {
    await recordMany(a, "gap", 20);
    const first = collect(a.events, { durableName: "resume-2", fromStart: true, messageId: "gap" }, { stopAfter: 5 });
    await first.ended;
    const second = collect(a.events, { durableName: "resume-2" });
    await eventually("the rest of the events", () => second.events.some((e) => e.id === "gap-19"));
    second.cancel();
    // The stream resumes at the oldest event not acknowledged; events written around the
    // disconnect may come again (resume with after_sequence for exactly once).
    const ids = second.events.map((e) => Number(e.id.slice(4)));
    const from = ids[0] ?? -1;
    expect(from).toBeGreaterThanOrEqual(0);
    expect(ids).toEqual(Array.from({ length: 20 - from }, (_, i) => i + from));
  });

  it("keeps a durable subscription's filters and refuses to resume it with others", async () => {
    const first = collect(a.events, { durableName: "filtered", names: ["msg:complete"] });
    await sleep(200);
    first.cancel();
    await first.ended;
    const status = await collect(a.events, { durableName: "filtered", names: ["msg:delivery"] }).ended;
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);

    await a.record({ id: "kept-1", name: "msg:delivery" });
    await a.record({ id: "kept-2", name: "msg:complete" });
    const resumed = collect(a.events, { durableName: "filtered" });
    await resumed.waitFor(1);
    await sleep(200);
    resumed.cancel();
    expect(resumed.events.map((e) => e.id)).toEqual(["kept-2"]);
  });

  it("lets a newer stream take over a durable subscription", async () => {
    const first = collect(a.events, { durableName: "taken" });
    await sleep(200);
    const second = collect(a.events, { durableName: "taken" });
    expect((await first.ended).code).toBe(grpc.status.ABORTED);
    await sleep(200);
    await a.record({ id: "take-1", name: "msg:complete" });
    await second.waitFor(1);
    second.cancel();
    expect(second.events.map((e) => e.id)).toEqual(["take-1"]);
  });

  it("bounds what is in flight to a subscriber that does not read (flow control)", async () => {
    const big = "x".repeat(8192);
    const slow = collect(a.events, { durableName: "slow", messageId: "slow" });
    await sleep(200);
    slow.pause();
    const total = 1500;
    for (let i = 0; i < total; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => a.record({ id: `slow-${i + j}`, name: "msg:delivery", messageId: "slow", attributes: { pad: big } })));
    }
    await sleep(1000);
    const info = await bus.jsm.consumers.info(streamNames.events, durableNames.subscription("slow"));
    // Only what the connection buffers plus max_in_flight has left the stream; the rest waits in JetStream.
    expect(info.num_ack_pending).toBeLessThanOrEqual(16);
    expect(info.num_pending).toBeGreaterThan(total * 0.9);
    slow.resume();
    await slow.waitFor(total, 30_000);
    slow.cancel();
    expect(seqs(slow.events)).toEqual([...seqs(slow.events)].sort((x, y) => x - y));
    expect(new Set(slow.events.map((e) => e.id)).size).toBe(total);
  }, 60_000);
});
