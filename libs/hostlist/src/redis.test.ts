import { type Backend, freePort, startRedis } from "@postern/testing";
import { Redis } from "ioredis";
import { type LookupEvent, type ServerStateEvent } from "./diagnostics";
import { HostlistConfigError, HostlistErrorCode, RedisUnavailableError } from "./errors";
import { domainList, hostList } from "./match";
import { createRedisLookup, type RedisLookup, type RedisLookupOptions } from "./redis-lookup";

describe("Redis lookups against a real redis-server", () => {
  let a: Backend;
  let b: Backend;
  let adminA: Redis;
  let adminB: Redis;
  let deadPort: number;
  const open: RedisLookup[] = [];

  /** b requires a password and keeps the data in database 3, to exercise host:port/db/password */
  const bServer = (): string => `127.0.0.1:${b.port}/3/s3cret`;

  /**
   * A lookup that records its events. wait: "any" until one server is connected, "all" until
   * every server is (so the order of servers, not connection speed, decides who answers).
   */
  async function lookup(
    opts: Partial<RedisLookupOptions> & Pick<RedisLookupOptions, "servers">,
    wait: "any" | "all" | "none" = "any",
  ): Promise<{ redis: RedisLookup; events: LookupEvent[]; states: ServerStateEvent[] }> {
    const events: LookupEvent[] = [];
    const states: ServerStateEvent[] = [];
    const redis = createRedisLookup({
      commandTimeoutMs: 500,
      connectTimeoutMs: 500,
      ...opts,
      onLookup: (e) => events.push(e),
      onServerState: (e) => {
        states.push(e);
        opts.onServerState?.(e);
      },
    });
    open.push(redis);
    if (wait === "any") expect(await redis.waitReady(5_000)).toBe(true);
    const allUp = (): boolean => redis.servers.every((label) => states.some((e) => e.server === label && e.state === "up"));
    for (let waited = 0; wait === "all" && !allUp(); waited += 10) {
      if (waited > 5_000) throw new Error(`servers not all up: ${JSON.stringify(states)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { redis, events, states };
  }

  beforeAll(async () => {
    [a, b] = await Promise.all([startRedis(), startRedis()]);
    deadPort = await freePort();
    adminA = new Redis(a.url);
    adminB = new Redis(b.url);
    await adminB.config("SET", "requirepass", "s3cret");
    await adminB.auth("s3cret");
    await adminB.select(3);
    for (const admin of [adminA, adminB]) {
      await admin.sadd("relay_from_ips", "192.168.0.0/24", "10.0.0.0/8", "2001:db8::/32");
      await admin.sadd("postern:local_domains", "redis.example", "x\r\nflushall");
      await admin.hset("example.net", "domain", "example.net");
      await admin.hset("empty.example", "domain", "");
    }
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
  });

  afterAll(async () => {
    adminA?.disconnect();
    adminB?.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("SMEMBERS: the set's CIDRs are list items (Exim host/db/password syntax, db 3, with a password)", async () => {
    const { redis, events } = await lookup({
      servers: [bServer()],
      onServerState: () => {
        throw new Error("a faulty hook");
      },
    });
    const list = hostList("127.0.0.1 : redis;SMEMBERS relay_from_ips", { redis });
    expect(await list.match("10.20.30.40")).toEqual({ result: "match", item: "redis;SMEMBERS relay_from_ips", member: "10.0.0.0/8" });
    expect(await list.match("::ffff:192.168.0.7")).toMatchObject({ result: "match", member: "192.168.0.0/24" });
    expect(await list.match("2001:db8:1::1")).toMatchObject({ result: "match", member: "2001:db8::/32" });
    expect(await list.match("172.16.0.1")).toEqual({ result: "nomatch", item: null });
    expect(await list.match("127.0.0.1")).toEqual({ result: "match", item: "127.0.0.1" });
    expect(events[0]).toMatchObject({ command: "SMEMBERS", server: `127.0.0.1:${b.port}/3`, outcome: "found", cached: false, failures: 0 });
    expect(events.slice(1).every((e) => e.cached)).toBe(true);
  });

  it("SISMEMBER with the domain as one argument: CR LF from a client cannot inject a command", async () => {
    const { redis } = await lookup({ servers: [a.url] });
    const list = domainList("localhost : redis;SISMEMBER postern::local_domains $domain", { redis });
    expect(await list.match("REDIS.example")).toMatchObject({ result: "match" });
    expect(await list.match("other.example")).toEqual({ result: "nomatch", item: null });
    expect(await list.match("x\r\nFLUSHALL")).toMatchObject({ result: "match" });
    expect(await list.match("redis.example x\r\nDEL relay_from_ips")).toEqual({ result: "nomatch", item: null });
    expect(await adminA.scard("relay_from_ips")).toBe(3);
    expect(await adminA.dbsize()).toBe(4);
  });

  it("HGET $domain domain: a non-empty field matches", async () => {
    const { redis } = await lookup({ servers: [a.url] });
    const list = domainList("${lookup redis{HGET $domain domain}}", { redis });
    expect(await list.match("example.net")).toMatchObject({ result: "match" });
    expect(await list.match("empty.example")).toMatchObject({ result: "nomatch" });
    expect(await list.match("missing.example")).toMatchObject({ result: "nomatch" });
  });

  it("hget returns the field's value itself, uncached, from the first server that answers", async () => {
    const { redis, events } = await lookup({ servers: [`127.0.0.1:${deadPort}//`, a.url] });
    expect(await redis.hget("example.net", "domain")).toBe("example.net");
    expect(await redis.hget("missing.example", "domain")).toBeNull();
    expect(events).toEqual([]); // not a list lookup: no lookup events, nothing cached
    const { redis: down } = await lookup({ servers: [`127.0.0.1:${deadPort}//`] }, "none");
    await expect(down.hget("example.net", "domain")).rejects.toBeInstanceOf(RedisUnavailableError);
  });

  it("uses the second server when the first is down", async () => {
    const { redis, events, states } = await lookup({ servers: [`127.0.0.1:${deadPort}//`, bServer()] });
    expect(redis.servers).toEqual([`127.0.0.1:${deadPort}/0`, `127.0.0.1:${b.port}/3`]);
    expect(redis.ready()).toBe(true);
    expect(await hostList("redis;SMEMBERS relay_from_ips", { redis }).match("10.0.0.1")).toMatchObject({ result: "match" });
    expect(events).toEqual([expect.objectContaining({ server: `127.0.0.1:${b.port}/3`, outcome: "found", failures: 1 })]);
    expect(states).toContainEqual({ server: `127.0.0.1:${b.port}/3`, state: "up" });
  });

  it("moves on when a server stops while in use, and reports it down", async () => {
    const c = await startRedis();
    try {
      const { redis, events, states } = await lookup({ servers: [c.url, bServer()] }, "all");
      const list = hostList("redis;SISMEMBER relay_from_ips $host", { redis });
      expect((await list.match("10.0.0.1")).result).toBe("nomatch");
      expect(events[0]).toMatchObject({ server: `127.0.0.1:${c.port}/0`, failures: 0 });
      await c.stop();
      expect(await list.match("192.0.2.1")).toEqual({ result: "nomatch", item: null });
      expect(events[1]).toMatchObject({ server: `127.0.0.1:${b.port}/3`, failures: 1 });
      expect(states).toContainEqual(expect.objectContaining({ server: `127.0.0.1:${c.port}/0`, state: "down" }));
    } finally {
      await c.stop();
    }
  });

  it("moves on from a server that does not answer within the command timeout", async () => {
    const { redis, events } = await lookup({ servers: [a.url, bServer()], commandTimeoutMs: 200 }, "all");
    await adminA.call("CLIENT", "PAUSE", "400", "ALL");
    expect(await domainList("redis;HGET $domain domain", { redis }).match("example.net")).toMatchObject({ result: "match" });
    expect(events).toEqual([expect.objectContaining({ server: `127.0.0.1:${b.port}/3`, failures: 1 })]);
    expect(events[0]?.ms).toBeGreaterThanOrEqual(190);
  });

  it("defers when every server is down, naming each failure", async () => {
    const other = await freePort();
    const { redis, events } = await lookup({ servers: `127.0.0.1:${deadPort}// : 127.0.0.1:${other}//`.replace(/:(\d+)\/\//g, "::$1//") }, "none");
    expect(redis.ready()).toBe(false);
    const r = await hostList("127.0.0.1 : redis;SMEMBERS relay_from_ips", { redis }).match("10.0.0.1");
    expect(r).toMatchObject({ result: "defer", item: "redis;SMEMBERS relay_from_ips", error: { code: HostlistErrorCode.LookupFailed } });
    if (r.result !== "defer") throw new Error("unreachable");
    expect(r.error.cause).toBeInstanceOf(RedisUnavailableError);
    expect((r.error.cause as RedisUnavailableError).failures.map((f) => f.server)).toEqual([`127.0.0.1:${deadPort}/0`, `127.0.0.1:${other}/0`]);
    expect(events).toEqual([expect.objectContaining({ outcome: "error", server: null, failures: 2, cached: false })]);
    expect(await hostList("127.0.0.1 : redis;SMEMBERS relay_from_ips", { redis }).match("127.0.0.1")).toMatchObject({ result: "match" });
  });

  it("caches answers for the TTL, then asks again; failures are not cached", async () => {
    let now = 1_000;
    const { redis, events } = await lookup({ servers: [a.url], cacheTtlMs: 5_000, now: () => now });
    const list = domainList("redis;SISMEMBER cached_domains $domain", { redis });
    expect((await list.match("c.example")).result).toBe("nomatch");
    await adminA.sadd("cached_domains", "c.example");
    now += 4_999;
    expect((await list.match("c.example")).result).toBe("nomatch");
    now += 1;
    expect((await list.match("c.example")).result).toBe("match");
    expect(events.map((e) => e.cached)).toEqual([false, true, false]);

    await adminA.set("wrong_type", "x");
    const wrong = hostList("redis;SMEMBERS wrong_type", { redis });
    const r = await wrong.match("10.0.0.1");
    expect(r.result === "defer" && r.error.message).toMatch(/WRONGTYPE/);
    await adminA.del("wrong_type");
    await adminA.sadd("wrong_type", "10.0.0.0/8");
    expect((await wrong.match("10.0.0.1")).result).toBe("match");
  });

  it("a bad member in a Redis set defers, naming it", async () => {
    await adminA.sadd("bad_ips", "10.0.0.0/8", "10.0.0.0/99");
    const { redis } = await lookup({ servers: [a.url] });
    const r = await hostList("redis;SMEMBERS bad_ips", { redis }).match("192.0.2.1");
    expect(r).toMatchObject({ result: "defer", error: { code: HostlistErrorCode.LookupBadData } });
    expect(r.result === "defer" && r.error.message).toContain('member "10.0.0.0/99" of set "bad_ips": prefix length must be 0-32');
  });

  it("after close() every lookup defers", async () => {
    const { redis } = await lookup({ servers: [a.url] });
    await redis.close();
    expect(redis.ready()).toBe(false);
    expect((await hostList("redis;SMEMBERS relay_from_ips", { redis }).match("10.0.0.1")).result).toBe("defer");
  });

  it("refuses bad servers and options before connecting", () => {
    expect(() => createRedisLookup({ servers: ["127.0.0.1/x/pw"] })).toThrow(HostlistConfigError);
    expect(() => createRedisLookup({ servers: [a.url], commandTimeoutMs: 0 })).toThrow(RangeError);
  });
});
