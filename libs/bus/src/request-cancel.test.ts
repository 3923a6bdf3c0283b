import { startNats, type Backend } from "@postern/testing";
import { natsConfigSchema } from "./config";
import { type Bus, connectBus } from "./connect";
import { lightRequestCancel } from "./request-cancel";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe("lightRequestCancel (real nats-server)", () => {
  let nats: Backend;
  let bus: Bus;

  beforeAll(async () => {
    expect(lightRequestCancel()).toBe(true);
    expect(lightRequestCancel()).toBe(true); // once per process, idempotent
    nats = await startNats();
    bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "request-cancel", logger: quiet });
  });
  afterAll(async () => {
    await bus?.drain();
    await nats?.stop();
  });

  it("requests still resolve, time out and fail as before", async () => {
    const sub = bus.nc.subscribe("echo", { callback: (_err, m) => void m.respond(m.data) });
    await bus.nc.flush();
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => bus.nc.request("echo", `r${i}`, { timeout: 5000 })));
    expect(replies.map((m) => m.string())).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));

    const silent = bus.nc.subscribe("silent");
    await bus.nc.flush();
    await expect(bus.nc.request("silent", "x", { timeout: 200 })).rejects.toMatchObject({ name: "TimeoutError" });
    await expect(bus.nc.request("nobody-listens", "x", { timeout: 5000 })).rejects.toThrow(/no responders/i);
    silent.unsubscribe();
    sub.unsubscribe();
  });

  it("JetStream publishes get their acks", async () => {
    await bus.jsm.streams.add({ name: "RC", subjects: ["rc.>"] });
    const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => bus.js.publish(`rc.${i}`, "x", { msgID: `m${i % 10}` })));
    expect(acks.filter((a) => a.duplicate)).toHaveLength(10);
  });
});
