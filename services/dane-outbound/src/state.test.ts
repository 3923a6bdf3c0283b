import { type Bus, connectBus, ensureTopology, natsConfigSchema, openKv } from "@postern/bus";
import { type Backend, startNats } from "@postern/testing";
import { pino } from "pino";
import { StateConflictError } from "./errors";
import { emptyState, StateStore } from "./state";

describe("StateStore on a real nats-server", () => {
  let nats: Backend;
  let bus: Bus;
  let store: StateStore;

  beforeAll(async () => {
    nats = await startNats();
    const config = natsConfigSchema.parse({ servers: [nats.url], jetstream: { mail: { storage: "memory" }, events: { storage: "memory" }, spool: { storage: "memory" }, kv: { storage: "memory" } } });
    bus = await connectBus(config, { name: "state-test", logger: pino({ level: "silent" }) });
    await ensureTopology(bus, config.jetstream);
    store = new StateStore(await openKv(bus, "delivery-state"));
  });

  afterAll(async () => {
    await bus?.drain();
    await nats?.stop();
  });

  it("creates, updates, refuses a stale revision and reads a removed entry as completed", async () => {
    const first = await store.save("m1", emptyState(), 0);
    const second = await store.save("m1", { ...emptyState(), attempts: 1 }, first);
    await expect(store.save("m1", emptyState(), first)).rejects.toBeInstanceOf(StateConflictError);
    expect((await store.load("m1")).revision).toBe(second);
    await store.remove("m1");
    expect(await store.load("m1")).toMatchObject({ done: true });
  });

  it("refuses a first-delivery create over a completed (purged) entry, so the copy is not sent again", async () => {
    await store.save("m2", emptyState(), 0);
    await store.remove("m2");
    await expect(store.save("m2", emptyState(), 0)).rejects.toBeInstanceOf(StateConflictError);
  });
});
