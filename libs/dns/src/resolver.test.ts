import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { QueryEvent } from "./diagnostics";
import { DnsConfigError } from "./errors";
import { createResolver, type ResolverOptions } from "./resolver";
import type { DnsRecord, Exchange, Outcome, Query } from "./types";

/** An in-memory zone as an Exchange that records every query it gets. */
function zone(records: Record<string, DnsRecord[]>): { exchange: Exchange; seen: Query[] } {
  const seen: Query[] = [];
  const exchange: Exchange = (_server, query) => {
    seen.push(query);
    const rrs = (records[query.name] ?? []).filter((r) => r.type === query.type);
    const outcome: Outcome<DnsRecord> =
      records[query.name] === undefined
        ? { kind: "nxdomain", authenticated: false, ttl: 30 }
        : rrs.length === 0
          ? { kind: "nodata", authenticated: false, ttl: 30 }
          : { kind: "answer", records: rrs, authenticated: true, ttl: 300 };
    return Promise.resolve({ outcome, transport: "udp", ignored: 0 });
  };
  return { exchange, seen };
}

const data: Record<string, DnsRecord[]> = {
  "example.com": [
    { name: "example.com", type: "MX", ttl: 300, data: { preference: 20, exchange: "mx2.example.com" } },
    { name: "example.com", type: "MX", ttl: 300, data: { preference: 10, exchange: "mx1.example.com" } },
    { name: "example.com", type: "TXT", ttl: 300, data: [Buffer.from("v=spf1 "), Buffer.from("-all")] },
    { name: "example.com", type: "TXT", ttl: 300, data: [Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff])] },
    { name: "example.com", type: "A", ttl: 300, data: "192.0.2.1" },
    { name: "example.com", type: "AAAA", ttl: 300, data: "2001:db8::1" },
  ],
  "1.2.0.192.in-addr.arpa": [{ name: "1.2.0.192.in-addr.arpa", type: "PTR", ttl: 300, data: "example.com" }],
  "_25._tcp.mx1.example.com": [
    { name: "_25._tcp.mx1.example.com", type: "TLSA", ttl: 300, data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from("abcd", "hex") } },
  ],
};

function resolver(extra: Partial<ResolverOptions> = {}): { r: ReturnType<typeof createResolver>; seen: Query[]; events: QueryEvent[] } {
  const { exchange, seen } = zone(data);
  const events: QueryEvent[] = [];
  return { r: createResolver({ servers: ["192.0.2.53"], exchange, onQuery: (e) => events.push(e), ...extra }), seen, events };
}

describe("typed lookups", () => {
  it("a / aaaa", async () => {
    const { r } = resolver();
    expect(await r.a("example.com")).toEqual({ kind: "answer", records: ["192.0.2.1"], authenticated: true, ttl: 300 });
    expect(await r.aaaa("example.com")).toMatchObject({ records: ["2001:db8::1"] });
  });
  it("mx keeps the order received", async () => {
    const { r } = resolver();
    expect(await r.mx("example.com")).toMatchObject({ records: [{ preference: 20, exchange: "mx2.example.com" }, { preference: 10, exchange: "mx1.example.com" }] });
  });
  it("txt: one string[] per record, octets kept as latin1", async () => {
    const { r } = resolver();
    const got = await r.txt("example.com");
    expect(got).toMatchObject({ records: [["v=spf1 ", "-all"], ["caf\u00e9\u00ff"]] });
    if (got.kind === "answer") expect(Buffer.from(got.records[1]?.[0] ?? "", "latin1")).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff]));
  });
  it("ptr and tlsa", async () => {
    const { r } = resolver();
    expect(await r.ptr("1.2.0.192.in-addr.arpa")).toMatchObject({ records: ["example.com"] });
    expect(await r.tlsa("_25._tcp.mx1.example.com")).toMatchObject({ records: [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.from("abcd", "hex") }] });
  });
  it("failures pass through the typed lookups", async () => {
    const { r } = resolver();
    expect(await r.mx("nowhere.example")).toEqual({ kind: "nxdomain", authenticated: false, ttl: 30 });
    expect(await r.ptr("example.com")).toEqual({ kind: "nodata", authenticated: false, ttl: 30 });
    expect(await r.txt("a..b")).toMatchObject({ kind: "error", code: "POSTERN_DNS_INVALID_NAME" });
  });
});

describe("the default stack", () => {
  it("caches, de-duplicates and reports", async () => {
    const { r, seen, events } = resolver();
    await Promise.all([r.a("example.com"), r.a("Example.com."), r.a("example.com")]);
    await r.a("example.com");
    expect(seen).toEqual([{ name: "example.com", type: "A" }]);
    expect(events.map((e) => [e.cached, e.shared])).toEqual([
      [false, false],
      [false, true],
      [false, true],
      [true, false],
    ]);
  });
  it("without cache and dedup every call queries", async () => {
    const { r, seen } = resolver({ cache: false, dedup: false });
    await Promise.all([r.a("example.com"), r.a("example.com")]);
    await r.a("example.com");
    expect(seen).toHaveLength(3);
  });
});

describe("configuration", () => {
  it.each<[string, Partial<ResolverOptions>, string]>([
    ["empty server list", { servers: [] }, "servers"],
    ["bad server", { servers: ["127.0.0.1:53", "dns.example"] }, "servers[1]"],
    ["zero timeout", { timeoutMs: 0 }, "timeoutMs"],
    ["fractional attempts", { attempts: 1.5 }, "attempts"],
    ["negative CNAME bound", { maxCnameChain: -1 }, "maxCnameChain"],
  ])("%s throws DnsConfigError", (_name, options, option) => {
    let caught: unknown;
    try {
      createResolver({ servers: ["127.0.0.1"], ...options });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DnsConfigError);
    expect(caught).toMatchObject({ name: "DnsConfigError", code: "POSTERN_DNS_CONFIG_INVALID", option });
  });

  it("takes servers from the given resolv.conf, never the machine's", () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-dns-conf-"));
    try {
      writeFileSync(join(dir, "resolv.conf"), "nameserver 192.0.2.1\nnameserver 2001:db8::53\n");
      expect(createResolver({ resolvConf: join(dir, "resolv.conf") }).servers).toEqual(["192.0.2.1:53", "[2001:db8::53]:53"]);
      expect(createResolver({ resolvConf: join(dir, "missing") }).servers).toEqual(["127.0.0.1:53", "[::1]:53"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
