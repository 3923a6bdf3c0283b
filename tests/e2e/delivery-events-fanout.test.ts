import * as grpc from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { type Event, EventsClient, SubscribeRequest } from "@postern/proto";
import { configSchema, startDeliveryEvents } from "@postern/delivery-events";
import { runService, type ServiceContext } from "@postern/service-kit";
import { freePort, type PostgresBackend, startPostgres, startSmtpSink } from "@postern/testing";
import { type CliRun, cliWith } from "../support/cli";
import { sendMail } from "../support/smtp-client";
import { type Stack, startStack } from "../support/stack";
import { newSecret, type Receiver, startReceiver } from "./webhook-receiver";

const SECRET = newSecret();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Events.Subscribe collecting into an array; `stopAfter` cancels right after that many. */
function subscribe(address: string, request: Partial<SubscribeRequest>, stopAfter?: number): { events: Event[]; ended: Promise<unknown>; close(): void } {
  const client = new EventsClient(address, grpc.credentials.createInsecure());
  const stream = client.subscribe(SubscribeRequest.fromPartial(request));
  const events: Event[] = [];
  stream.on("data", (event: Event) => {
    if (stopAfter !== undefined && events.length >= stopAfter) return;
    events.push(event);
    if (events.length === stopAfter) stream.cancel();
  });
  const ended = new Promise((resolve) => stream.on("error", resolve));
  return {
    events,
    ended,
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

const cli = (args: string[]): Promise<CliRun> => cliWith({}, ...args);

describe("delivery events: SMTP → dane-outbound → delivery-events → gRPC, webhooks, Postgres, Redis stream", () => {
  let stack: Stack;
  let smtpSink: Awaited<ReturnType<typeof startSmtpSink>>;
  let pg: PostgresBackend;
  let redis: Redis;
  let hooks: Receiver;
  let flaky: Receiver;
  let down: Receiver;
  const fanout: Array<ServiceContext<unknown>> = [];
  let flakyUntil = Number.POSITIVE_INFINITY;

  beforeAll(async () => {
    [smtpSink, pg] = await Promise.all([startSmtpSink(), startPostgres()]);
    stack = await startStack({ routes: { "example.net": `smtp:127.0.0.1:${smtpSink.port}` }, logLevel: "warn" });
    redis = new Redis(stack.redis.url);
    await redis.sadd("postern:local_domains", "example.net");
    [hooks, flaky, down] = await Promise.all([
      startReceiver(SECRET),
      startReceiver(SECRET, () => (Date.now() < flakyUntil ? 503 : 204)),
      startReceiver(SECRET, () => 500),
    ]);
    const fast = { secret: SECRET, retry_initial_ms: 200, retry_max_ms: 1000 };
    const shared = {
      webhook_allow_hosts: ["127.0.0.1"],
      sinks: [
        { name: "audit", type: "postgres", url: pg.url, events: ["msg:>"] },
        { name: "feed", type: "redis", url: stack.redis.url, stream: "postern:events", maxlen: 10_000, events: ["msg:delivery"] },
      ],
    };
    const hooksEndpoint = { name: "hooks", url: hooks.url, events: ["msg:delivery", "msg:complete"], ...fast };
    // Two more delivery-events instances doing the fan-out work; the stack's own instance serves gRPC.
    const sections = [
      { ...shared, webhooks: [hooksEndpoint, { name: "flaky", url: flaky.url, events: ["msg:delivery"], sender_domains: ["flaky.example"], retry_for_seconds: 120, ...fast }, { name: "down", url: down.url, events: ["msg:complete"], sender_domains: ["down.example"], retry_for_seconds: 2, ...fast }] },
      { ...shared, webhooks: [hooksEndpoint] },
    ];
    const memory = { storage: "memory" }; // as the stack's own services configure them
    for (const section of sections) {
      const ctx = await runService({
        name: "delivery-events",
        schema: configSchema,
        config: { log: { level: "error" }, nats: { servers: [stack.nats.url], jetstream: { mail: memory, events: memory, spool: memory, kv: memory } }, delivery_events: { ...section, grpc: { listen: `127.0.0.1:${await freePort()}` }, dead_letter: { storage: "file" } } },
        env: {},
        installSignalHandlers: false,
        exitOnError: false,
        start: startDeliveryEvents,
      });
      fanout.push(ctx);
    }
  }, 90_000);

  afterAll(async () => {
    for (const ctx of fanout) await ctx.shutdown.trigger("test finished");
    redis?.disconnect();
    await stack?.stop();
    await Promise.all([smtpSink?.stop(), pg?.stop(), hooks?.close(), flaky?.close(), down?.close()]);
  });

  async function deliver(from: string, to: string[], subject: string): Promise<string> {
    const sent = await sendMail({ host: "127.0.0.1", port: stack.smtpPort, from, to, body: `From: ${from}\r\nSubject: ${subject}\r\n\r\nfan-out test\r\n` });
    const id = /id=(\S+)/.exec(sent.final)?.[1];
    if (id === undefined) throw new Error(`no message id in ${sent.final}`);
    return id;
  }

  it("streams the deliveries to a gRPC subscriber, a signed webhook, Postgres and a Redis stream", async () => {
    const grpcAll = subscribe(stack.eventsAddress, { names: ["msg:delivery"] });
    const grpcRemote = subscribe(stack.eventsAddress, { names: ["msg:delivery"], recipientDomains: ["example.net"], senderDomains: ["example.org"] });
    await sleep(300);
    const ids = [await deliver("a@example.org", ["user@localhost", "bob@example.net"], "one"), await deliver("b@example.org", ["user@localhost"], "two"), await deliver("c@example.com", ["carol@example.net"], "three")];

    await eventually("4 deliveries on gRPC", () => grpcAll.events.length >= 4);
    const deliveries = grpcAll.events;
    const eventIds = deliveries.map((e) => e.id).sort();
    expect(new Set(deliveries.map((e) => e.messageId))).toEqual(new Set(ids));
    await eventually("the filtered subscription", () => grpcRemote.events.length >= 1);
    await sleep(300);
    expect(grpcRemote.events.map((e) => [e.messageId, e.deliveryLocalPart, e.deliveryDomain])).toEqual([[ids[0], "bob", "example.net"]]);
    grpcAll.close();
    grpcRemote.close();

    await eventually("4 deliveries and 3 completions at the webhook", () => hooks.accepted.filter((d) => d.type === "msg:delivery").length >= 4 && hooks.accepted.filter((d) => d.type === "msg:complete").length >= 3);
    expect(hooks.rejected).toBe(0);
    expect(hooks.accepted.filter((d) => d.type === "msg:delivery").map((d) => d.id).sort()).toEqual(eventIds);
    expect(new Set(hooks.accepted.map((d) => d.id)).size).toBe(hooks.accepted.length);

    await eventually("Postgres rows", async () => (await pg.queryJson(`SELECT id FROM postern_delivery_events WHERE name = 'msg:delivery'`)).length >= 4);
    const rows = await pg.queryJson<{ id: string; message_id: string; delivery_local_part: string; delivery_domain: string; transport_name: string }>(
      "SELECT id, message_id, delivery_local_part, delivery_domain, transport_name FROM postern_delivery_events WHERE name = 'msg:delivery' ORDER BY sequence",
    );
    expect(rows.map((r) => r.id).sort()).toEqual(eventIds);
    expect(rows.find((r) => r.delivery_local_part === "carol")).toMatchObject({ message_id: ids[2], delivery_domain: "example.net", transport_name: "smtp" });
    expect((await pg.queryJson("SELECT DISTINCT name FROM postern_delivery_events ORDER BY name")).map((r) => r.name)).toEqual(["msg:complete", "msg:delivery", "msg:received"]);

    await eventually("Redis stream entries", async () => (await redis.xlen("postern:events")) >= 4);
    const entries = await redis.xrange("postern:events", "-", "+");
    const streamIds = entries.map(([, fields]) => fields[fields.indexOf("id") + 1]).sort();
    expect(streamIds).toEqual(eventIds);
  }, 60_000);

  it("retries a failing webhook until it recovers, dead-letters a dead one, and `postern webhooks dlq replay` delivers", async () => {
    flakyUntil = Date.now() + 1500;
    const flakyId = await deliver("x@flaky.example", ["user@localhost"], "flaky");
    const downId = await deliver("y@down.example", ["user@localhost"], "down");
    await eventually("the flaky receiver's delivery", () => flaky.accepted.some((d) => d.data.messageId === flakyId));
    expect(flaky.attempts).toBeGreaterThan(1);
    expect(flaky.accepted.filter((d) => d.data.messageId === flakyId)).toHaveLength(1);

    const nats = ["--nats", stack.nats.url];
    await eventually("a dead letter", async () => (await cli(["webhooks", "dlq", "list", "--endpoint", "down", ...nats])).out.some((l) => l.includes(`id=${downId}`)), 20_000);
    const listed = await cli(["webhooks", "dlq", "list", "--endpoint", "down", "--json", ...nats]);
    const letters = listed.out.map((l) => JSON.parse(l) as { eventSequence: number; eventName: string; lastError: string; event: { messageId: string } });
    expect(letters.map((l) => [l.eventName, l.event.messageId, l.lastError])).toEqual([["msg:complete", downId, "HTTP 500"]]);
    expect(down.accepted).toEqual([]);

    down.respond = () => 204;
    const replay = await cli(["webhooks", "dlq", "replay", "--endpoint", "down", ...nats]);
    expect(replay).toMatchObject({ code: 0, err: [] });
    expect(replay.out.at(-1)).toBe("1 dead letter(s) queued for delivery again");
    await eventually("the replayed event", () => down.accepted.length === 1);
    expect(down.accepted[0]?.data).toMatchObject({ name: "msg:complete", messageId: downId, sequence: String(letters[0]?.eventSequence) });
    expect((await cli(["webhooks", "dlq", "list", "--endpoint", "down", ...nats])).out).toEqual(["0 dead letter(s) for endpoint down"]);
  }, 60_000);

  it("resumes a durable subscription after a disconnect with every event exactly once, in order", async () => {
    const all = subscribe(stack.eventsAddress, { fromStart: true, names: ["msg:>"] });
    await eventually("the stream so far", () => all.events.length >= 10);
    await sleep(500);
    all.close();
    const want = all.events.map((e) => e.sequence);

    const first = subscribe(stack.eventsAddress, { durableName: "e2e-durable", fromStart: true, names: ["msg:>"] }, 4);
    await first.ended;
    const last = first.events.at(-1)?.sequence ?? "0";
    const second = subscribe(stack.eventsAddress, { durableName: "e2e-durable", afterSequence: last });
    await eventually("the rest of the stream", () => second.events.length >= want.length - 4);
    await sleep(300);
    second.close();
    const got = [...first.events, ...second.events].map((e) => Number(e.sequence));
    expect(got.slice(0, want.length)).toEqual(want.map(Number));
    expect(got).toEqual([...new Set(got)].sort((x, y) => x - y));

    // The CLI keeps the position of a durable subscription too.
    const tail1 = await cli(["events", "tail", "--server", stack.eventsAddress, "--durable", "e2e-cli", "--from-start", "--filter", "name=msg:delivery,recipient=example.net", "--count", "1", "--timeout", "10"]);
    expect(tail1.code).toBe(0);
    expect(tail1.out[0]).toMatch(/ msg:delivery .*domain=example\.net/);
  }, 60_000);
});
