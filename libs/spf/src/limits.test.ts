import { getEventListeners } from "node:events";
import { type DnsOutcome, type SpfDns } from "./dns";
import { LimitedDns, resolveLimits } from "./limits";
import { createZoneDns, type ZoneData, type ZoneEntry } from "./testing/zone-dns";
import { checkSpf, type SpfCheckerOptions } from "./verdict";

const CLIENT = "192.0.2.1";

async function run(zone: ZoneData, ip = CLIENT, options?: SpfCheckerOptions) {
  const dns = createZoneDns(zone);
  const verdict = await checkSpf(dns, { ip, mailFrom: "user@example.com", helo: "mail.example.com" }, options);
  return { verdict, queries: dns.queries.map((q) => `${q.type} ${q.name}`) };
}

const spf = (text: string): ZoneEntry => ({ TXT: text });
const host = (address: string): ZoneEntry[] => [{ A: address }];

describe("DNS-querying terms (10)", () => {
  const hosts = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`h${i}.example.com`, host(`198.51.100.${i}`)]));
  const terms = (n: number): string => Array.from({ length: n }, (_, i) => `a:h${i}.example.com`).join(" ");

  test("10 terms are evaluated, in order", async () => {
    const { verdict, queries } = await run({ ...hosts, "example.com": [spf(`v=spf1 ${terms(10)} -all`)] });
    expect(verdict.result).toBe("fail");
    expect(verdict.lookups).toBe(10);
    expect(queries).toEqual(["TXT example.com", ...Array.from({ length: 10 }, (_, i) => `A h${i}.example.com`)]);
  });

  test("the 11th is permerror before it queries", async () => {
    const { verdict, queries } = await run({ ...hosts, "example.com": [spf(`v=spf1 ${terms(11)} -all`)] });
    expect(verdict).toMatchObject({ result: "permerror", code: "POSTERN_SPF_LIMIT", mechanism: "a:h10.example.com" });
    expect(queries).toHaveLength(11);
  });

  test("ip4, ip6 and all are free; include and redirect count", async () => {
    const { verdict, queries } = await run({
      "example.com": [spf("v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 include:a.example.com redirect=b.example.com")],
      "a.example.com": [spf("v=spf1 -all")],
      "b.example.com": [spf("v=spf1 ip4:192.0.2.0/24")],
    });
    expect(verdict).toMatchObject({ result: "pass", lookups: 2 });
    expect(queries).toEqual(["TXT example.com", "TXT a.example.com", "TXT b.example.com"]);
  });

  test("a redirect loop stops at the limit", async () => {
    const { verdict, queries } = await run({ "example.com": [spf("v=spf1 redirect=example.com")] });
    expect(verdict).toMatchObject({ result: "permerror", code: "POSTERN_SPF_LIMIT", lookups: 11 });
    expect(queries).toHaveLength(11);
  });
});

describe("void lookups (2)", () => {
  test("two are allowed", async () => {
    const { verdict } = await run({ "example.com": [spf("v=spf1 a:nx1.example.com mx:nx2.example.com ?all")] });
    expect(verdict).toMatchObject({ result: "neutral", voidLookups: 2 });
  });

  test("the third is permerror, NXDOMAIN and NODATA alike", async () => {
    const { verdict, queries } = await run({
      "example.com": [spf("v=spf1 a:nx1.example.com exists:nodata.example.com a:nx3.example.com ip4:192.0.2.1")],
      "nodata.example.com": [{ MX: [10, "mx.example.com"] }],
    });
    expect(verdict).toMatchObject({ result: "permerror", code: "POSTERN_SPF_LIMIT", mechanism: "a:nx3.example.com" });
    expect(queries).toEqual(["TXT example.com", "A nx1.example.com", "A nodata.example.com", "A nx3.example.com"]);
  });

  test("addresses of MX hosts are follow-ups and do not count", async () => {
    const mx = Array.from({ length: 5 }, (_, i): ZoneEntry => ({ MX: [i, `mx${i}.example.com`] }));
    const { verdict } = await run({ "example.com": [spf("v=spf1 mx -all"), ...mx] }, "2001:db8::1");
    expect(verdict).toMatchObject({ result: "fail", voidLookups: 0 });
  });

  test("the exp= lookup does not count", async () => {
    const { verdict, queries } = await run({ "example.com": [spf("v=spf1 a:nx1.example.com a:nx2.example.com exp=nx3.example.com -all")] });
    expect(verdict).toMatchObject({ result: "fail", voidLookups: 2 });
    expect(queries.at(-1)).toBe("TXT nx3.example.com");
  });

  test("the limit is configurable", async () => {
    const { verdict } = await run({ "example.com": [spf("v=spf1 a:nx1.example.com ?all")] }, CLIENT, { limits: { voidLookups: 0 } });
    expect(verdict.result).toBe("permerror");
  });
});

describe("MX names (10)", () => {
  const mxs = (n: number): ZoneEntry[] => Array.from({ length: n }, (_, i) => ({ MX: [i, `mx${i}.example.com`] }));
  const hosts = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`mx${i}.example.com`, host(`198.51.100.${i}`)]));

  test("10 names are looked up in answer order", async () => {
    const { verdict, queries } = await run({ ...hosts, "example.com": [spf("v=spf1 mx -all"), ...mxs(10)] });
    expect(verdict.result).toBe("fail");
    expect(queries).toEqual(["TXT example.com", "MX example.com", ...Array.from({ length: 10 }, (_, i) => `A mx${i}.example.com`)]);
  });

  test("11 names are permerror without address lookups", async () => {
    const { verdict, queries } = await run({ ...hosts, "example.com": [spf("v=spf1 mx -all"), ...mxs(11)] });
    expect(verdict).toMatchObject({ result: "permerror", code: "POSTERN_SPF_LIMIT", mechanism: "mx" });
    expect(queries).toEqual(["TXT example.com", "MX example.com"]);
  });

  test("a null MX is skipped", async () => {
    const { verdict, queries } = await run({ "example.com": [spf("v=spf1 mx -all"), { MX: [0, ""] }] });
    expect(verdict.result).toBe("fail");
    expect(queries).toEqual(["TXT example.com", "MX example.com"]);
  });
});

describe("PTR names (10)", () => {
  const ptrs = Array.from({ length: 12 }, (_, i): ZoneEntry => ({ PTR: `h${i}.example.net` }));
  const hosts = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`h${i}.example.net`, host(CLIENT)]));

  test("ptr uses the first 10 names and validates only those under the target", async () => {
    const zone = { ...hosts, "1.2.0.192.in-addr.arpa": ptrs, "example.com": [spf("v=spf1 ptr:h11.example.net ptr:h3.example.net -all")] };
    const { verdict, queries } = await run(zone);
    expect(verdict).toMatchObject({ result: "pass", mechanism: "ptr:h3.example.net", lookups: 2 });
    expect(queries).toEqual(["TXT example.com", "PTR 1.2.0.192.in-addr.arpa", "PTR 1.2.0.192.in-addr.arpa", "A h3.example.net"]);
  });

  test("%{p} is looked up once per check and costs no term", async () => {
    const zone = {
      ...hosts,
      "1.2.0.192.in-addr.arpa": ptrs,
      "example.com": [spf("v=spf1 exists:%{p}.a.example.com exists:%{p}.b.example.com -all")],
      "h0.example.net.b.example.com": host("127.0.0.2"),
    };
    const { verdict, queries } = await run(zone);
    expect(verdict).toMatchObject({ result: "pass", lookups: 2 });
    expect(queries.filter((q) => q.startsWith("PTR"))).toHaveLength(1);
    expect(queries.filter((q) => /^A h\d+\.example\.net$/.test(q))).toHaveLength(10);
  });
});

describe("LimitedDns", () => {
  test("query cap", async () => {
    const dns = new LimitedDns(createZoneDns({}), resolveLimits({ queries: 1 }));
    expect((await dns.txt("a.example.com")).kind).toBe("nxdomain");
    const second = await dns.txt("b.example.com");
    expect(second.kind === "limit" && second.error.limit).toBe("queries");
  });

  test("an aborted check makes every query a timeout without asking the resolver", async () => {
    const zone = createZoneDns({ "a.example.com": [spf("v=spf1")] });
    const controller = new AbortController();
    const dns = new LimitedDns(zone, resolveLimits(), controller.signal);
    controller.abort();
    expect((await dns.txt("a.example.com")).kind).toBe("timeout");
    expect(zone.queries).toHaveLength(0);
  });

  test("limits are validated", () => {
    expect(() => resolveLimits({ lookups: -1 })).toThrow("limits.lookups");
    expect(() => resolveLimits({ queries: 1.5 })).toThrow("limits.queries");
  });
});

describe("LimitedDns deadline", () => {
  it("answers timeout as soon as the signal aborts, without waiting for a query in flight", async () => {
    const never = (): Promise<DnsOutcome<readonly string[]>> => new Promise(() => undefined);
    const dns: SpfDns = { txt: never as SpfDns["txt"], a: never, aaaa: never, mx: never as SpfDns["mx"], ptr: never };
    const controller = new AbortController();
    const limited = new LimitedDns(dns, undefined, controller.signal);
    const pending = limited.address("example.org", 4);
    controller.abort();
    await expect(pending).resolves.toEqual({ kind: "timeout" });
  });

  it("listens to a signal once, however many queries and checks use it", async () => {
    const controller = new AbortController();
    const zone = createZoneDns({ "example.org": host("192.0.2.1") });
    for (let check = 0; check < 3; check++) {
      const limited = new LimitedDns(zone, undefined, controller.signal);
      await limited.address("example.org", 4);
      await limited.address("example.org", 4);
    }
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
  });

  it("a signal aborted before the query answers timeout without asking", async () => {
    const controller = new AbortController();
    controller.abort();
    const limited = new LimitedDns(createZoneDns({ "example.org": host("192.0.2.1") }), undefined, controller.signal);
    await expect(limited.address("example.org", 4)).resolves.toEqual({ kind: "timeout" });
    expect(limited.queries).toBe(0);
  });

  it("with queries of two signals interleaved, aborting one times out only its own", async () => {
    const never = (): Promise<DnsOutcome<readonly string[]>> => new Promise(() => undefined);
    const dns: SpfDns = { txt: never as SpfDns["txt"], a: never, aaaa: never, mx: never as SpfDns["mx"], ptr: never };
    const first = new AbortController();
    const second = new AbortController();
    const a = new LimitedDns(dns, undefined, first.signal);
    const b = new LimitedDns(dns, undefined, second.signal);
    const settled: string[] = [];
    const track = (label: string, p: Promise<unknown>): void => void p.then(() => settled.push(label));
    track("a1", a.address("example.org", 4));
    track("b1", b.address("example.org", 4));
    track("a2", a.address("example.net", 4));
    first.abort();
    await new Promise((r) => setImmediate(r));
    expect(settled.sort()).toEqual(["a1", "a2"]);
    second.abort();
    await new Promise((r) => setImmediate(r));
    expect(settled.sort()).toEqual(["a1", "a2", "b1"]);
    expect(getEventListeners(first.signal, "abort")).toHaveLength(0);
  });
});

