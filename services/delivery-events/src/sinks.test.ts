import { Redis } from "ioredis";
import { type Backend, type PostgresBackend, startNats, startPostgres, startRedis } from "@postern/testing";
import { migratePostgres } from "./sinks/postgres";
import { eventually, type Instance, sleep, startInstance } from "./testing/harness";

interface Row {
  id: string;
  sequence: number;
  name: string;
  message_id: string;
  sender_address: string | null;
  delivery_domain: string | null;
  delivery_port: number | null;
  defer_errno: number | null;
  defer_errstr: string | null;
  attributes: Record<string, string>;
}

describe("sinks: Postgres table and Redis stream, shared by two instances", () => {
  let nats: Backend;
  let redisServer: Backend;
  let pg: PostgresBackend;
  let redis: Redis;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    [nats, redisServer, pg] = await Promise.all([startNats(), startRedis(), startPostgres()]);
    redis = new Redis(redisServer.url);
    const section = {
      sinks: [
        { name: "audit", type: "postgres", url: pg.url, events: ["msg:>"], batch_size: 10 },
        { name: "feed", type: "redis", url: redisServer.url, stream: "postern:test", maxlen: 1000, recipient_domains: ["example.net"] },
      ],
    };
    // Both start at once: the migration runs under an advisory lock.
    [a, b] = await Promise.all([startInstance(nats, section), startInstance(nats, section)]);
  }, 60_000);

  afterAll(async () => {
    redis?.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([nats?.stop(), redisServer?.stop(), pg?.stop()]);
  });

  it("creates the table once and records the migration", async () => {
    expect(await pg.queryJson("SELECT component, version FROM postern_schema_migrations")).toEqual([{ component: "delivery_events", version: 1 }]);
    expect(await migratePostgres(pg.url)).toEqual([]);
  });

  it("stores every event once in each sink, with the TPDA fields", async () => {
    for (let i = 0; i < 40; i++) {
      await (i % 2 ? a : b).record({
        id: `s-${i}`,
        name: i % 4 === 3 ? "msg:rcpt:defer" : "msg:delivery",
        messageId: `m-${i % 7}`,
        senderAddress: "a@example.org",
        deliveryDomain: i % 2 ? "example.net" : "example.com",
        deliveryPort: 25,
        deferErrno: i % 4 === 3 ? 111 : 0,
        deferErrstr: i % 4 === 3 ? "connection refused" : "",
        attributes: { n: String(i) },
      });
    }
    await a.record({ id: "s-tcp", name: "tcp:connect" });
    await eventually("40 rows", async () => (await pg.queryJson("SELECT id FROM postern_delivery_events")).length >= 40);
    await eventually("20 stream entries", async () => (await redis.xlen("postern:test")) >= 20);
    await sleep(300);

    const rows = await pg.queryJson<Row>("SELECT * FROM postern_delivery_events ORDER BY sequence");
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 40 }, (_, i) => `s-${i}`));
    expect(rows[3]).toMatchObject({ name: "msg:rcpt:defer", message_id: "m-3", sender_address: "a@example.org", delivery_domain: "example.net", delivery_port: 25, defer_errno: 111, defer_errstr: "connection refused", attributes: { n: "3" } });
    expect(rows[0]).toMatchObject({ defer_errno: null, defer_errstr: null });

    const entries = await redis.xrange("postern:test", "-", "+");
    const fields = entries.map(([, flat]) => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]])) as Record<string, string>);
    expect(fields.map((f) => f.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `s-${2 * i + 1}`).sort());
    expect(fields.find((f) => f.id === "s-3")).toMatchObject({ name: "msg:rcpt:defer", delivery_domain: "example.net", defer_errno: "111", attributes: '{"n":"3"}' });
  });

  it("keeps retrying while Postgres refuses writes and loses nothing", async () => {
    await pg.psql("ALTER TABLE postern_delivery_events RENAME TO postern_delivery_events_away");
    for (let i = 0; i < 5; i++) await a.record({ id: `outage-${i}`, name: "msg:delivery", messageId: "outage" });
    await eventually("a failed write", () => a.logs.lines.concat(b.logs.lines).some((l) => l.event === "sink.write_failed"));
    await pg.psql("ALTER TABLE postern_delivery_events_away RENAME TO postern_delivery_events");
    await eventually("the events written after the outage", async () => (await pg.queryJson("SELECT id FROM postern_delivery_events WHERE message_id = 'outage'")).length === 5, 30_000);
  }, 40_000);
});
