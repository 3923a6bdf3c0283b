import * as grpc from "@grpc/grpc-js";
import { Event, EventsClient, OutcomesClient, type RecordResponse, SubscribeRequest } from "@postern/proto";
import { runService, type ServiceContext, unaryCall } from "@postern/service-kit";
import { type Backend, freePort, startNats } from "@postern/testing";
import { configSchema, type DeliveryEventsConfig } from "./config";
import { startDeliveryEvents } from "./service";

describe("delivery-events against a real nats-server", () => {
  let nats: Backend;
  let ctx: ServiceContext<DeliveryEventsConfig>;
  let outcomes: OutcomesClient;
  let events: EventsClient;

  const record = (event: Partial<Event>): Promise<RecordResponse> =>
    unaryCall(outcomes.record.bind(outcomes), { event: Event.fromPartial(event), events: [] }, 5000);

  function subscribe(request: Partial<SubscribeRequest>, count: number): Promise<Event[]> {
    const stream = events.subscribe(SubscribeRequest.fromPartial(request));
    const got: Event[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.cancel();
        reject(new Error(`got ${got.length}/${count}: ${got.map((e) => e.name).join(",")}`));
      }, 10_000);
      stream.on("data", (event: Event) => {
        got.push(event);
        if (got.length === count) {
          clearTimeout(timer);
          stream.cancel();
          resolve(got);
        }
      });
      stream.on("error", (err: grpc.ServiceError) => {
        clearTimeout(timer);
        if (err.code === grpc.status.CANCELLED) resolve(got);
        else reject(err);
      });
    });
  }

  beforeAll(async () => {
    nats = await startNats();
    const listen = `127.0.0.1:${await freePort()}`;
    ctx = await runService({
      name: "delivery-events",
      schema: configSchema,
      config: { log: { level: "warn" }, nats: { servers: [nats.url] }, delivery_events: { grpc: { listen }, max_subscribers: 3 } },
      env: {},
      installSignalHandlers: false,
      exitOnError: false,
      start: startDeliveryEvents,
    });
    outcomes = new OutcomesClient(listen, grpc.credentials.createInsecure());
    events = new EventsClient(listen, grpc.credentials.createInsecure());
  }, 30_000);

  afterAll(async () => {
    outcomes?.close();
    events?.close();
    await ctx?.shutdown.trigger("test finished");
    await nats?.stop();
  });

  it("stores events once per id and streams them with their sequence", async () => {
    const first = await record({ id: "e1", name: "msg:delivery", messageId: "m1", deliveryLocalPart: "user", deliveryDomain: "localhost" });
    const again = await record({ id: "e1", name: "msg:delivery", messageId: "m1" });
    const second = await record({ id: "e2", name: "msg:rcpt:defer", messageId: "m1", deferErrno: 111, deferErrstr: "refused" });
    const third = await record({ name: "msg:delivery", messageId: "m2" }); // the id is assigned
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ eventId: "e1", sequence: first.sequence, duplicate: true, results: [] });
    expect(third.eventId).toMatch(/[0-9a-f-]{36}/);

    const all = await subscribe({ fromStart: true }, 3);
    expect(all.map((e) => [e.id, e.name, e.sequence])).toEqual([
      ["e1", "msg:delivery", first.sequence],
      ["e2", "msg:rcpt:defer", second.sequence],
      [third.eventId, "msg:delivery", third.sequence],
    ]);
    expect(all[0]).toMatchObject({ deliveryLocalPart: "user", deliveryDomain: "localhost" });
    expect(all[0]?.time).toBeInstanceOf(Date);
  });

  it.each([
    ["one pattern", { fromStart: true, names: ["msg:delivery"] }, ["e1", "m2"]],
    ["several patterns", { fromStart: true, names: ["msg:rcpt:*", "tcp:>"] }, ["e2"]],
    ["a message id", { fromStart: true, messageId: "m1" }, ["e1", "e2"]],
    ["resume after a sequence", { afterSequence: "1" }, ["e2", "m2"]],
  ])("filters by %s", async (_label, request, want) => {
    const got = await subscribe(request, want.length);
    expect(got.map((e) => (e.messageId === "m2" ? "m2" : e.id))).toEqual(want);
  });

  it("follows new events live", async () => {
    const live = subscribe({ names: ["msg:complete"] }, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await record({ id: "live-1", name: "msg:complete", messageId: "m3" });
    expect((await live).map((e) => e.id)).toEqual(["live-1"]);
  });

  it.each([
    ["an invalid name", { name: "msg:*" }],
    ["an empty name", { name: "" }],
  ])("refuses %s with INVALID_ARGUMENT", async (_label, event) => {
    await expect(record(event)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it("refuses an invalid subscription pattern", async () => {
    await expect(subscribe({ names: ["msg:>:x"] }, 1)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it("stores a batch in order with one result per event; a bad event fails alone", async () => {
    const batch = (events: Array<Partial<Event>>, event?: Partial<Event>): Promise<RecordResponse> =>
      unaryCall(outcomes.record.bind(outcomes), { event: event && Event.fromPartial(event), events: events.map((e) => Event.fromPartial(e)) }, 5000);
    const live = subscribe({ messageId: "batch-1" }, 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const res = await batch([
      { id: "b1", name: "msg:delivery", messageId: "batch-1", time: new Date(), host: "h" },
      { id: "b-bad", name: "msg:*", messageId: "batch-1" },
      { id: "b2", name: "msg:complete", messageId: "batch-1" },
      { id: "e1", name: "msg:delivery", messageId: "batch-1" }, // stored by the first test: a duplicate
      { name: "msg:rcpt:defer", messageId: "batch-1" }, // the id is assigned
    ]);
    expect(res.results.map((r) => [r.code, r.duplicate])).toEqual([
      [grpc.status.OK, false],
      [grpc.status.INVALID_ARGUMENT, false],
      [grpc.status.OK, false],
      [grpc.status.OK, true],
      [grpc.status.OK, false],
    ]);
    expect(res.results[1]?.error).toMatch(/event.name/);
    expect(res.results[4]?.eventId).toMatch(/[0-9a-f-]{36}/);
    const seqs = res.results.filter((r) => r.code === (grpc.status.OK as number) && !r.duplicate).map((r) => Number(r.sequence));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect((await live).map((e) => e.id)).toEqual(["b1", "b2", res.results[4]?.eventId]);

    await expect(batch([{ id: "x1", name: "msg:delivery" }], { id: "x2", name: "msg:delivery" })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: `many-${i}`, name: "msg:delivery" }));
    await expect(batch(tooMany)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});
