import { type NatsConnection } from "@nats-io/transport-node";
import { startNats, type Backend } from "@postern/testing";
import { coalesceWrites } from "./coalesce";
import { natsConfigSchema } from "./config";
import { type Bus, connectBus } from "./connect";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Internals {
  protocol: { outbound: { size(): number }; pendingLimit: number };
}

describe("coalesced NATS output (real nats-server)", () => {
  let nats: Backend;
  let receiver: Bus;
  const connect = (name: string): Promise<Bus> => connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name, logger: quiet });

  beforeAll(async () => {
    nats = await startNats();
    receiver = await connect("receiver");
  });
  afterAll(async () => {
    await receiver?.drain();
    await nats?.stop();
  });

  /** Collects `n` payloads published on `subject`. */
  const collect = async (subject: string, n: number): Promise<{ done: Promise<string[]> }> => {
    const sub = receiver.nc.subscribe(subject, { max: n });
    await receiver.nc.flush();
    const done = (async () => {
      const got: string[] = [];
      for await (const m of sub) got.push(m.string());
      return got;
    })();
    return { done };
  };

  it("publishes from many callbacks arrive complete and in order", async () => {
    const bus = await connect("sender");
    const { done } = await collect("coalesce.order", 300);
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) setImmediate(() => bus.nc.publish("coalesce.order", String(i)));
      else if (i % 3 === 1) setTimeout(() => bus.nc.publish("coalesce.order", String(i)), 0);
      else bus.nc.publish("coalesce.order", String(i));
    }
    const got = await done;
    expect(got.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // publishes made in the same order on the connection stay in that order
    const direct = got.map(Number).filter((i) => i % 3 === 2);
    expect(direct).toEqual([...direct].sort((a, b) => a - b));
    await bus.drain();
  });

  it("requests (JetStream-style round trips) still complete", async () => {
    const bus = await connect("requester");
    const sub = receiver.nc.subscribe("coalesce.echo", {
      callback: (_err, m) => {
        m.respond(m.data);
      },
    });
    await receiver.nc.flush();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => bus.nc.request("coalesce.echo", String(i), { timeout: 5_000 })));
    expect(answers.map((a) => a.string())).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    sub.unsubscribe();
    await bus.drain();
  });

  it("close() writes what is still pending", async () => {
    const bus = await connect("closer");
    const { done } = await collect("coalesce.close", 1);
    bus.nc.publish("coalesce.close", "last words");
    await bus.nc.close();
    expect(await done).toEqual(["last words"]);
  });

  it("a buffer past the pending limit is written at once", async () => {
    const bus = await connect("big");
    const { done } = await collect("coalesce.big", 1);
    const internals = bus.nc as unknown as Internals;
    bus.nc.publish("coalesce.big", new Uint8Array(internals.protocol.pendingLimit + 1));
    // nats.js flushes in a microtask queued by the publish; a large buffer is not held for the loop turn
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(internals.protocol.outbound.size()).toBe(0);
    expect((await done)[0]).toHaveLength(internals.protocol.pendingLimit + 1);
    await bus.drain();
  });

  it("leaves a connection without the expected internals alone", () => {
    expect(coalesceWrites({} as NatsConnection)).toBe(false);
    expect(coalesceWrites({ protocol: { flushPending: () => undefined } } as unknown as NatsConnection)).toBe(false);
  });
});
