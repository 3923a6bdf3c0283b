import { LruStore, TtlCache } from "./cache";
import type { DnsRecord, Handler, Outcome, Query, Resolution } from "./types";
import { cacheTtl, withCache } from "./wrappers";

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe("LruStore", () => {
  it("evicts the least recently used entry beyond its bound", () => {
    const s = new LruStore<number>(3);
    s.set("a", 1);
    s.set("b", 2);
    s.set("c", 3);
    expect(s.get("a")).toBe(1); // a is now the most recent
    s.set("d", 4);
    expect(s.keys()).toEqual(["c", "a", "d"]);
    expect(s.get("b")).toBeUndefined();
    s.set("c", 33); // overwrite refreshes
    s.set("e", 5);
    expect(s.keys()).toEqual(["d", "c", "e"]);
    expect(s.size).toBe(3);
  });
});

describe("TtlCache", () => {
  it("serves until the TTL runs out, then loads again", async () => {
    const c = clock();
    const cache = new TtlCache<string>({ ttlOf: () => 10, now: c.now });
    let loads = 0;
    const load = (): Promise<string> => Promise.resolve(`v${++loads}`);
    expect(await cache.get("k", load)).toEqual({ value: "v1", hit: false, remainingS: 10 });
    c.advance(3_500);
    expect(await cache.get("k", load)).toEqual({ value: "v1", hit: true, remainingS: 6 });
    c.advance(6_499);
    expect(await cache.get("k", load)).toEqual({ value: "v1", hit: true, remainingS: 0 });
    c.advance(1);
    expect(await cache.get("k", load)).toEqual({ value: "v2", hit: false, remainingS: 10 });
  });

  it("does not store values whose TTL is 0", async () => {
    const cache = new TtlCache<string>({ ttlOf: () => 0, now: clock().now });
    let loads = 0;
    await cache.get("k", () => Promise.resolve(`v${++loads}`));
    expect((await cache.get("k", () => Promise.resolve(`v${++loads}`))).value).toBe("v2");
    expect(cache.size).toBe(0);
  });

  it("uses an injected store and its LRU bound", async () => {
    const store = new LruStore<{ value: string; expiresAt: number }>(2);
    const cache = new TtlCache<string>({ ttlOf: () => 60, now: clock().now, store });
    for (const k of ["a", "b", "c"]) await cache.get(k, () => Promise.resolve(k));
    expect(store.keys()).toEqual(["b", "c"]);
  });
});

describe("cacheTtl", () => {
  const cases: { name: string; outcome: Outcome<DnsRecord>; want: number }[] = [
    { name: "answer", outcome: { kind: "answer", records: [], authenticated: false, ttl: 300 }, want: 300 },
    { name: "answer capped", outcome: { kind: "answer", records: [], authenticated: false, ttl: 999_999 }, want: 86_400 },
    { name: "nxdomain", outcome: { kind: "nxdomain", authenticated: false, ttl: 60 }, want: 60 },
    { name: "nxdomain capped", outcome: { kind: "nxdomain", authenticated: false, ttl: 86_400 }, want: 900 },
    { name: "nodata capped", outcome: { kind: "nodata", authenticated: true, ttl: 3600 }, want: 900 },
    { name: "servfail", outcome: { kind: "servfail" }, want: 0 },
    { name: "timeout", outcome: { kind: "timeout" }, want: 0 },
    { name: "refused", outcome: { kind: "refused" }, want: 0 },
    { name: "error", outcome: { kind: "error", code: "POSTERN_DNS_NETWORK", reason: "x" }, want: 0 },
  ];
  it.each(cases)("$name", ({ outcome, want }) => expect(cacheTtl(outcome, 86_400, 900)).toBe(want));
});

describe("withCache", () => {
  function counting(outcomes: Record<string, Outcome<DnsRecord>>): { handler: Handler; calls: string[] } {
    const calls: string[] = [];
    const handler: Handler = (query: Query) => {
      calls.push(`${query.name}/${query.type}`);
      const outcome = outcomes[query.name] ?? { kind: "timeout" };
      return Promise.resolve<Resolution>({ outcome, server: "127.0.0.1:53", transport: "udp", cached: false, shared: false, ignored: 0 });
    };
    return { handler, calls };
  }
  const outcomes: Record<string, Outcome<DnsRecord>> = {
    "pos.example": { kind: "answer", records: [{ name: "pos.example", type: "A", ttl: 120, data: "192.0.2.1" }], authenticated: true, ttl: 120 },
    "neg.example": { kind: "nxdomain", authenticated: false, ttl: 7200 },
    "fail.example": { kind: "servfail" },
  };

  it("serves positive answers for their TTL, reporting the remaining TTL", async () => {
    const c = clock();
    const { handler, calls } = counting(outcomes);
    const h = withCache(handler, { now: c.now });
    expect(await h({ name: "pos.example", type: "A" })).toMatchObject({ cached: false, outcome: { ttl: 120 } });
    c.advance(100_000);
    expect(await h({ name: "POS.example", type: "A" })).toMatchObject({ cached: true, server: "127.0.0.1:53", outcome: { kind: "answer", ttl: 20, authenticated: true } });
    expect(await h({ name: "pos.example", type: "AAAA" })).toMatchObject({ cached: false });
    c.advance(20_000);
    expect(await h({ name: "pos.example", type: "A" })).toMatchObject({ cached: false });
    expect(calls).toEqual(["pos.example/A", "pos.example/AAAA", "pos.example/A"]);
  });

  it("caches negative answers up to the cap", async () => {
    const c = clock();
    const { handler, calls } = counting(outcomes);
    const h = withCache(handler, { now: c.now, negativeTtlCapS: 300 });
    await h({ name: "neg.example", type: "A" });
    c.advance(299_000);
    expect(await h({ name: "neg.example", type: "A" })).toMatchObject({ cached: true, outcome: { kind: "nxdomain", ttl: 1 } });
    c.advance(1_000);
    expect(await h({ name: "neg.example", type: "A" })).toMatchObject({ cached: false });
    expect(calls).toHaveLength(2);
  });

  it("never caches SERVFAIL or timeouts", async () => {
    const { handler, calls } = counting(outcomes);
    const h = withCache(handler, { now: clock().now });
    for (let i = 0; i < 2; i++) {
      await h({ name: "fail.example", type: "A" });
      await h({ name: "silent.example", type: "A" });
    }
    expect(calls).toHaveLength(4);
  });

  it("evicts the least recently used query at maxEntries", async () => {
    const many: Record<string, Outcome<DnsRecord>> = {};
    for (const n of ["a", "b", "c"]) many[n] = { kind: "nodata", authenticated: false, ttl: 60 };
    const { handler, calls } = counting(many);
    const h = withCache(handler, { now: clock().now, maxEntries: 2 });
    for (const n of ["a", "b", "a", "c", "a", "b"]) await h({ name: n, type: "A" });
    expect(calls).toEqual(["a/A", "b/A", "c/A", "b/A"]);
  });
});

describe("TtlCache.peek and load (the synchronous hit path)", () => {
  it.each([
    ["missing", undefined, 0, undefined],
    ["fresh", 60, 10_000, { value: "v", hit: true, remainingS: 50 }],
    ["fresh, rounding down", 60, 10_500, { value: "v", hit: true, remainingS: 49 }],
    ["expired at its TTL", 60, 60_000, undefined],
    ["expired", 60, 90_000, undefined],
  ] as const)("%s", async (_name, ttl, after, want) => {
    const c = clock();
    const cache = new TtlCache<string>({ ttlOf: () => ttl ?? 0, now: c.now });
    if (ttl !== undefined) expect(await cache.load("k", () => Promise.resolve("v"))).toEqual({ value: "v", hit: false, remainingS: ttl });
    c.advance(after);
    expect(cache.peek("k")).toEqual(want);
    // an expired entry is dropped by peek
    expect(cache.size).toBe(want === undefined ? 0 : 1);
  });

  it("get serves a hit without calling the loader and loads a miss", async () => {
    const cache = new TtlCache<string>({ ttlOf: () => 30 });
    let loads = 0;
    const load = (): Promise<string> => Promise.resolve(`v${++loads}`);
    expect(await cache.get("k", load)).toMatchObject({ value: "v1", hit: false });
    expect(await cache.get("k", load)).toMatchObject({ value: "v1", hit: true });
    expect(loads).toBe(1);
  });

  it("withCache: a hit is the cached resolution with the remaining TTL, served without the handler", async () => {
    const c = clock();
    let calls = 0;
    const outcome: Outcome<DnsRecord> = { kind: "nodata", authenticated: true, ttl: 300 };
    const handler: Handler = () => (calls++, Promise.resolve({ outcome, server: "192.0.2.53:53", transport: "tcp", cached: false, shared: true, ignored: 2 }));
    const h = withCache(handler, { now: c.now });
    expect(await h({ name: "x.example", type: "TXT" })).toEqual({ outcome, server: "192.0.2.53:53", transport: "tcp", cached: false, shared: true, ignored: 2 });
    c.advance(1_000);
    expect(await h({ name: "X.example.", type: "TXT" })).toEqual({
      outcome: { kind: "nodata", authenticated: true, ttl: 299 },
      server: "192.0.2.53:53",
      transport: "tcp",
      cached: true,
      shared: false,
      ignored: 0,
    });
    expect(calls).toBe(1);
  });
});
