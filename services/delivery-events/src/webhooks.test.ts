import { pino } from "pino";
import type { Counter } from "prom-client";
import { type Bus, connectBus, natsConfigSchema } from "@postern/bus";
import { type Backend, startNats } from "@postern/testing";
import { listDeadLetters, replayDeadLetters } from "./webhooks/dead-letter";
import { eventually, type Instance, sleep, startInstance } from "./testing/harness";
import { type Received, startWebhookReceiver, type WebhookReceiver } from "./testing/webhook-receiver";

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;

/** Deliveries counted by an instance's postern_webhook_requests_total, by result. */
async function requests(instance: Instance, endpoint: string, result: string): Promise<number> {
  const metric = instance.ctx.metrics.getSingleMetric("postern_webhook_requests_total") as Counter | undefined;
  const values = (await metric?.get())?.values ?? [];
  return values.filter((v) => v.labels.endpoint === endpoint && v.labels.result === result).reduce((sum, v) => sum + v.value, 0);
}

function expectInOrderPerMessage(received: Received[]): void {
  const byMessage = new Map<string, number[]>();
  for (const r of received) {
    const data = r.body.data as { messageId?: string; sequence: string };
    const list = byMessage.get(data.messageId ?? "") ?? [];
    list.push(Number(data.sequence));
    byMessage.set(data.messageId ?? "", list);
  }
  for (const list of byMessage.values()) expect(list).toEqual([...list].sort((x, y) => x - y));
}

describe("webhooks against local HTTP receivers", () => {
  let nats: Backend;
  let ok: WebhookReceiver;
  let flaky: WebhookReceiver;
  let down: WebhookReceiver;
  let a: Instance;
  let b: Instance;
  let guarded: Instance;
  let bus: Bus;

  beforeAll(async () => {
    nats = await startNats();
    [ok, flaky, down] = await Promise.all([startWebhookReceiver(SECRET), startWebhookReceiver(SECRET, (n) => (n <= 12 ? 503 : 204)), startWebhookReceiver(SECRET, () => 500)]);
    const fast = { retry_initial_ms: 100, retry_max_ms: 400, secret: SECRET };
    const shared = { name: "ok", url: ok.url, events: ["msg:delivery", "msg:complete"], max_concurrency: 4, ...fast };
    const allow = { webhook_allow_hosts: ["127.0.0.1"] };
    // Two instances share endpoint "ok"; "flaky" and "down" run on one (per-message order holds within an instance).
    [a, b] = await Promise.all([
      startInstance(nats, {
        ...allow,
        webhooks: [
          shared,
          { name: "flaky", url: flaky.url, events: ["msg:*"], sender_domains: ["example.org"], retry_for_seconds: 60, ...fast },
          { name: "down", url: down.url, events: ["msg:fail:>"], retry_for_seconds: 1, ...fast },
        ],
      }),
      startInstance(nats, { ...allow, webhooks: [shared] }),
    ]);
    // A third instance has no allow list.
    guarded = await startInstance(nats, {
      webhooks: [
        { name: "loopback-ip", url: ok.url, events: ["tcp:*"], retry_for_seconds: 1, ...fast },
        { name: "loopback-name", url: ok.url.replace("127.0.0.1", "localhost"), events: ["tcp:*"], retry_for_seconds: 1, ...fast },
      ],
    });
    bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "test", logger: pino({ level: "silent" }) });
  }, 30_000);

  afterAll(async () => {
    await bus?.drain();
    await Promise.all([a?.stop(), b?.stop(), guarded?.stop()]);
    await Promise.all([ok?.close(), flaky?.close(), down?.close()]);
    await nats?.stop();
  });

  it("POSTs each matching event once, signed, the work shared by the instances", async () => {
    const want: string[] = [];
    for (let i = 0; i < 60; i++) {
      const name = ["msg:delivery", "msg:rcpt:defer", "msg:complete"][i % 3] ?? "msg:delivery";
      await (i % 2 ? a : b).record({ id: `ok-${i}`, name, messageId: `ok-m${i % 5}`, deliveryDomain: "example.net" });
      if (name !== "msg:rcpt:defer") want.push(`ok-${i}`);
    }
    await eventually("every matching event at the receiver", () => ok.accepted.length >= want.length);
    await sleep(300);
    expect(ok.badSignatures).toBe(0);
    expect(ok.accepted.map((r) => r.id).sort()).toEqual([...want].sort());
    const first = ok.accepted.find((r) => r.id === "ok-0");
    expect(first?.body).toMatchObject({ type: "msg:delivery", data: { id: "ok-0", name: "msg:delivery", messageId: "ok-m0", deliveryDomain: "example.net" } });
    expect(Math.abs((first?.timestamp ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    const byA = await requests(a, "ok", "delivered");
    const byB = await requests(b, "ok", "delivered");
    expect(byA + byB).toBe(want.length);
  });

  it("retries with backoff while the receiver fails, and everything arrives, in order per message, once it recovers", async () => {
    for (let i = 0; i < 12; i++) await a.record({ id: `flaky-${i}`, name: "msg:delivery", messageId: `flaky-m${i % 2}`, senderAddress: "x@example.org" });
    await a.record({ id: "flaky-other-sender", name: "msg:delivery", senderAddress: "x@example.com" });
    await eventually("all events after the failures", () => flaky.accepted.length >= 12, 20_000);
    await sleep(300);
    expect(flaky.attempts).toBeGreaterThan(12);
    expect(flaky.accepted.map((r) => r.id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `flaky-${i}`).sort());
    expectInOrderPerMessage(flaky.accepted);
    expect(await listDeadLetters(bus, { endpoint: "flaky" })).toEqual([]);
  }, 30_000);

  it("moves events to the dead-letter stream when the receiver keeps failing, and replay delivers them", async () => {
    for (const id of ["dl-1", "dl-2", "dl-3"]) await b.record({ id, name: "msg:fail:delivery", messageId: "dl-m" });
    await eventually("three dead letters", async () => (await listDeadLetters(bus, { endpoint: "down" })).length === 3, 15_000);
    const letters = await listDeadLetters(bus, { endpoint: "down" });
    expect(letters.map((l) => [l.endpoint, l.eventId, l.eventName, l.lastError])).toEqual([
      ["down", "dl-1", "msg:fail:delivery", "HTTP 500"],
      ["down", "dl-2", "msg:fail:delivery", "HTTP 500"],
      ["down", "dl-3", "msg:fail:delivery", "HTTP 500"],
    ]);
    expect(letters.every((l) => l.attempts >= 1 && l.eventSequence > 0 && l.event?.id === l.eventId)).toBe(true);
    expect(down.accepted).toEqual([]);

    down.respond = () => 200;
    const { replayed, missing } = await replayDeadLetters(bus, { endpoint: "down" });
    expect([replayed.map((l) => l.eventId), missing]).toEqual([["dl-1", "dl-2", "dl-3"], []]);
    await eventually("the replayed events", () => down.accepted.length >= 3);
    await sleep(300);
    expect(down.accepted.map((r) => r.id)).toEqual(["dl-1", "dl-2", "dl-3"]);
    expect(down.accepted.map((r) => (r.body.data as { sequence: string }).sequence)).toEqual(letters.map((l) => String(l.eventSequence)));
    expect(await listDeadLetters(bus, { endpoint: "down" })).toEqual([]);
  }, 30_000);

  it("never sends to loopback unless webhook_allow_hosts allows it", async () => {
    const before = ok.attempts;
    await guarded.record({ id: "ssrf-1", name: "tcp:connect" });
    await eventually("both endpoints' dead letters", async () => (await listDeadLetters(bus)).filter((l) => l.eventId === "ssrf-1").length === 2, 15_000);
    const letters = (await listDeadLetters(bus)).filter((l) => l.eventId === "ssrf-1");
    expect(Object.fromEntries(letters.map((l) => [l.endpoint, l.lastError]))).toEqual({
      "loopback-ip": "refused: 127.0.0.1 is loopback (not in webhook_allow_hosts)",
      "loopback-name": expect.stringMatching(/^refused: localhost resolves to (127\.0\.0\.1|::1) is loopback/) as unknown,
    });
    expect(ok.attempts).toBe(before);
  }, 30_000);

  it("refuses to replay dead letters that do not exist", async () => {
    expect(await replayDeadLetters(bus, { sequences: [999_999] })).toEqual({ replayed: [], missing: [999_999] });
  });
});
