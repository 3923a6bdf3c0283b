/**
 * Against real servers on loopback, started here from tests/fixtures/dns and stopped here:
 * nsd (authoritative, signed example.test) and unbound (validating, trust anchor = the DS of
 * example.test). Needs the Debian packages nsd, unbound and ldnsutils.
 */
import type { QueryEvent } from "./diagnostics";
import { createResolver, type Resolver, type ResolverOptions } from "./resolver";
import { parseServer } from "./servers";
import { type DnsLab, startDnsLab } from "./testing/lab";
import { type FakeServer, startFakeServer } from "./testing/fake-server";
import { udpQuery } from "./transport";

let lab: DnsLab;
beforeAll(async () => {
  lab = await startDnsLab();
}, 30_000);
afterAll(async () => {
  await lab?.stop();
});

function resolver(servers: string[], extra: Partial<ResolverOptions> = {}): { r: Resolver; events: QueryEvent[] } {
  const events: QueryEvent[] = [];
  return { r: createResolver({ servers, timeoutMs: 2000, attempts: 1, cache: false, onQuery: (e) => events.push(e), ...extra }), events };
}

describe("nsd, authoritative", () => {
  it("answers A records with their TTL, unauthenticated", async () => {
    const got = await resolver([lab.nsd]).r.a("host.example.test");
    expect(got).toMatchObject({ kind: "answer", authenticated: false, ttl: 300 });
    expect(got.kind === "answer" && [...got.records].sort()).toEqual(["192.0.2.1", "192.0.2.2"]);
  });

  it("tells NXDOMAIN from NODATA, with the RFC 2308 negative TTL", async () => {
    const { r } = resolver([lab.nsd]);
    expect(await r.a("nope.example.test")).toEqual({ kind: "nxdomain", authenticated: false, ttl: 60 });
    expect(await r.aaaa("mx1.example.test")).toEqual({ kind: "nodata", authenticated: false, ttl: 60 });
    expect(await r.txt("host.example.test")).toEqual({ kind: "nodata", authenticated: false, ttl: 60 });
    expect(await r.a("below.nope.example.test")).toMatchObject({ kind: "nxdomain" });
  });

  it("matches the question case-insensitively", async () => {
    expect(await resolver([lab.nsd]).r.a("HoSt.Example.TEST.")).toMatchObject({ kind: "answer" });
  });

  it("follows CNAME chains inside the answer", async () => {
    const { r } = resolver([lab.nsd]);
    expect(await r.aaaa("alias.example.test")).toMatchObject({ kind: "answer", records: ["2001:db8::1"] });
    const chained = await r.a("chain1.example.test");
    expect(chained.kind === "answer" && chained.records.length).toBe(2);
  });

  it("retries a truncated UDP answer over TCP", async () => {
    const server = parseServer(lab.nsd);
    if (server === null) throw new Error(lab.nsd);
    const udp = await udpQuery(server, { name: "big.example.test", type: "TXT" }, 2000);
    expect(udp.kind === "message" && udp.message.flag_tc).toBe(true);

    const { r, events } = resolver([lab.nsd]);
    const got = await r.txt("big.example.test");
    expect(got.kind === "answer" && got.records.length).toBe(12);
    expect(got.kind === "answer" && got.records.every((rec) => rec.length === 1 && rec[0]?.length === 200)).toBe(true);
    expect(events[0]).toMatchObject({ transport: "tcp", outcome: "answer" });
  });

  it("speaks TCP alone when asked", async () => {
    const { r, events } = resolver([lab.nsd], { transport: "tcp" });
    expect(await r.mx("example.test")).toMatchObject({ kind: "answer" });
    expect(events[0]?.transport).toBe("tcp");
  });

  it("types MX, TXT, TLSA and PTR records", async () => {
    const { r } = resolver([lab.nsd]);
    const mx = await r.mx("example.test");
    expect(mx.kind === "answer" && [...mx.records].sort((a, b) => a.preference - b.preference)).toEqual([
      { preference: 10, exchange: "mx1.example.test" },
      { preference: 20, exchange: "mx2.example.test" },
    ]);
    expect(await r.txt("example.test")).toMatchObject({ records: [["v=spf1 ip4:192.0.2.0/24", " -all"]] });
    expect(await r.txt("latin.example.test")).toMatchObject({ records: [["caf\u00e9", "\u0000\u00ff"]] });
    expect(await r.tlsa("_25._tcp.mx1.example.test")).toMatchObject({
      records: [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.from("0123456789abcdef".repeat(4), "hex") }],
    });
    expect(await r.ptr("1.2.0.192.in-addr.arpa")).toMatchObject({ records: ["host.example.test"] });
  });

  it("reports REFUSED for a zone it does not serve", async () => {
    expect(await resolver([lab.nsd]).r.a("example.com")).toEqual({ kind: "refused" });
  });

  it("is reached after a silent server times out", async () => {
    const silent: FakeServer = await startFakeServer(() => undefined);
    try {
      const { r, events } = resolver([silent.label, lab.nsd], { timeoutMs: 250 });
      expect(await r.a("host.example.test")).toMatchObject({ kind: "answer" });
      expect(events[0]?.server).toBe(lab.nsd);
      expect(events[0]?.ms).toBeGreaterThanOrEqual(240);
      expect(silent.received).toHaveLength(1);
    } finally {
      await silent.close();
    }
  });
});

describe("unbound, validating", () => {
  it("surfaces the AD bit on secure answers", async () => {
    const { r } = resolver([lab.unbound]);
    expect(await r.a("host.example.test")).toMatchObject({ kind: "answer", authenticated: true });
    expect(await r.tlsa("_25._tcp.mx1.example.test")).toMatchObject({ kind: "answer", authenticated: true });
    expect(await r.mx("example.test")).toMatchObject({ kind: "answer", authenticated: true });
  });

  it("authenticates denial of existence", async () => {
    const { r } = resolver([lab.unbound]);
    expect(await r.a("nope.example.test")).toMatchObject({ kind: "nxdomain", authenticated: true });
    expect(await r.aaaa("mx1.example.test")).toMatchObject({ kind: "nodata", authenticated: true });
  });

  it("answers insecure data without AD", async () => {
    expect(await resolver([lab.unbound]).r.ptr("1.2.0.192.in-addr.arpa")).toMatchObject({ kind: "answer", authenticated: false, records: ["host.example.test"] });
  });

  it("turns bogus data into SERVFAIL", async () => {
    expect(await resolver([lab.unbound]).r.a("bogus.example.test")).toEqual({ kind: "servfail" });
  });

  it("reports REFUSED for names it will not resolve", async () => {
    expect(await resolver([lab.unbound]).r.a("example.com")).toEqual({ kind: "refused" });
  });

  it("serves repeats from the cache with a decreasing TTL", async () => {
    let t = 0;
    const { r, events } = resolver([lab.unbound], { cache: { now: () => t } });
    await r.a("host.example.test");
    t += 10_000;
    const again = await r.a("host.example.test");
    expect(events.map((e) => e.cached)).toEqual([false, true]);
    expect(again.kind === "answer" && again.ttl).toBeLessThanOrEqual(290);
  });
});
