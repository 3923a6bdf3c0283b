import { HostlistConfigError, HostlistErrorCode, RedisUnavailableError } from "./errors";
import { domainList, hostList, listUsesLookups, parseList } from "./match";
import { type ListInput, splitList } from "./split";
import type { Lookup, LookupQuery, LookupReply } from "./types";

/** A declarative fake of the Lookup interface: answers from a table, records every query. */
function fakeLookup(answers: Record<string, LookupReply | Error>): Lookup & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    query(q: LookupQuery) {
      const key = [q.command, ...q.args].join(" ");
      calls.push(key);
      const a = answers[key] ?? (q.command === "SMEMBERS" ? [] : false);
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
  };
}

type Case = { list: ListInput; value: string; want: "match" | "nomatch"; wantItem?: string | null };

describe("host lists (static)", () => {
  const cases: Case[] = [
    { list: "127.0.0.1 : 10.0.0.0/8", value: "10.20.30.40", want: "match", wantItem: "10.0.0.0/8" },
    { list: "127.0.0.1 : 10.0.0.0/8", value: "11.0.0.1", want: "nomatch", wantItem: null },
    { list: "10.0.0.0/8", value: "::ffff:10.1.2.3", want: "match" },
    { list: "10.0.0.0/8", value: "::ffff:a01:203", want: "match" },
    { list: ["::ffff:10.0.0.0/104"], value: "10.9.9.9", want: "match" },
    { list: "192.0.2.1", value: "192.0.2.1", want: "match" },
    { list: "192.0.2.1", value: "192.0.2.2", want: "nomatch" },
    { list: "10.1.2.3/8", value: "10.200.0.1", want: "match" },
    { list: "0.0.0.0/0", value: "203.0.113.9", want: "match" },
    { list: "0.0.0.0/0", value: "2001:db8::1", want: "nomatch" },
    { list: "<; 2001:db8::/32 ; 192.0.2.0/24", value: "2001:DB8:0::42", want: "match", wantItem: "2001:db8::/32" },
    { list: "<; 2001:db8::/32 ; 192.0.2.0/24", value: "192.0.2.200", want: "match", wantItem: "192.0.2.0/24" },
    { list: "<; 2001:db8::/32 ; 192.0.2.0/24", value: "2001:db9::1", want: "nomatch" },
    { list: "<, ::1, 127.0.0.1", value: "::1", want: "match" },
    { list: "::::1 : 127.0.0.1", value: "::1", want: "match", wantItem: "::1" },
    { list: ["fe80::/10"], value: "fe80::1%eth0", want: "match" },
    { list: "*", value: "198.51.100.7", want: "match" },
    { list: "", value: "127.0.0.1", want: "nomatch" },
    // negation: first match decides
    { list: "!192.0.2.1 : 192.0.2.0/24", value: "192.0.2.1", want: "nomatch", wantItem: "!192.0.2.1" },
    { list: "!192.0.2.1 : 192.0.2.0/24", value: "192.0.2.2", want: "match", wantItem: "192.0.2.0/24" },
    { list: "192.0.2.0/24 : !192.0.2.1", value: "192.0.2.1", want: "match", wantItem: "192.0.2.0/24" },
    { list: "! 10.0.0.0/8 : *", value: "10.0.0.1", want: "nomatch" },
    { list: "! 10.0.0.0/8 : *", value: "11.0.0.1", want: "match", wantItem: "*" },
    { list: "!10.0.0.0/8", value: "11.0.0.1", want: "nomatch", wantItem: null },
    // not an address: only * matches
    { list: "<; 0.0.0.0/0 ; ::/0", value: "not-an-ip", want: "nomatch" },
    { list: "*", value: "not-an-ip", want: "match" },
  ];
  it.each(cases)("$list against $value", async ({ list, value, want, wantItem }) => {
    const r = await hostList(list).match(value);
    expect(r.result).toBe(want);
    if (wantItem !== undefined) expect(r).toMatchObject({ item: wantItem });
    expect(hostList(list).matchSync(value)).toEqual(r);
  });
});

describe("host lists: derived variants", () => {
  // Every static case again as an array and as a "<;" list: the separator never changes a result.
  const lists = ["127.0.0.1 : 10.0.0.0/8", "!192.0.2.1 : 192.0.2.0/24", "! 10.0.0.0/8 : *", "::::1 : 127.0.0.1"];
  const values = ["10.20.30.40", "192.0.2.1", "192.0.2.2", "::1", "::ffff:127.0.0.1", "11.0.0.1"];
  it.each(lists)("%s", async (list) => {
    const items = splitList(list);
    for (const value of values) {
      const want = await hostList(list).match(value);
      expect(await hostList(items).match(value)).toEqual(want);
      expect(await hostList(`<; ${items.join(" ; ")}`).match(value)).toEqual(want);
    }
  });
});

describe("domain lists (static)", () => {
  const cases: Case[] = [
    { list: "localhost : example.com", value: "Example.COM", want: "match", wantItem: "example.com" },
    { list: "example.com", value: "example.com.", want: "match" },
    { list: "example.com", value: "www.example.com", want: "nomatch" },
    { list: "*.example.com", value: "mx.Example.com", want: "match" },
    { list: "*.example.com", value: "example.com", want: "nomatch" },
    { list: "*.example.com", value: "badexample.com", want: "nomatch" },
    { list: "*example.com", value: "example.com", want: "match" },
    { list: "*example.com", value: "badexample.com", want: "match" },
    { list: "*example.com", value: "a.b.example.com", want: "match" },
    { list: "^mx\\d+\\.example\\.com$", value: "MX12.example.com", want: "match" },
    { list: "^mx\\d+\\.example\\.com$", value: "mx12.example.com.evil", want: "nomatch" },
    { list: "^mx\\d+\\.example\\.com", value: "mx12.example.com.evil", want: "match" },
    { list: "^mx\\d+", value: "a.mx1.example", want: "nomatch" },
    { list: "<; ^[a-z]{2}\\d:\\d ; x", value: "ab1:2", want: "match" },
    { list: ["^(\\w+\\.)*example\\.org$"], value: "a.b.example.org", want: "match" },
    { list: [`^${"a?".repeat(20)}${"a".repeat(20)}$`], value: `${"a".repeat(300)}`, want: "nomatch" },
    { list: "@ : example.com", value: "MX.Postern.test", want: "match", wantItem: "@" },
    { list: "@", value: "other.test", want: "nomatch" },
    { list: "*", value: "anything.example", want: "match" },
    { list: "!*.test.example.com : *.example.com", value: "a.test.example.com", want: "nomatch", wantItem: "!*.test.example.com" },
    { list: "!*.test.example.com : *.example.com", value: "a.prod.example.com", want: "match" },
    { list: "!^spam : *", value: "spam.example", want: "nomatch" },
    { list: "bücher.example", value: "BÜCHER.example", want: "match" },
  ];
  it.each(cases)("$list against $value", async ({ list, value, want, wantItem }) => {
    const r = await domainList(list, { primaryHostname: "mx.postern.test" }).match(value);
    expect(r.result).toBe(want);
    if (wantItem !== undefined) expect(r).toMatchObject({ item: wantItem });
  });

  it("does not run a regex on values longer than 255 characters", async () => {
    const long = `${"a.".repeat(150)}example`;
    expect((await domainList("^a").match(long)).result).toBe("nomatch");
    expect((await domainList("*").match(long)).result).toBe("match");
  });
});

describe("lookup items", () => {
  const answers = {
    "SMEMBERS relay_from_ips": ["192.168.0.0/24", "10.0.0.0/8", "2001:db8::/32"],
    "SMEMBERS bad_set": ["10.0.0.0/8", "not-a-cidr"],
    "SISMEMBER relay_ips 198.51.100.7": true,
    "HGET example.net domain": true,
    "GET block:203.0.113.5": true,
    "SMEMBERS local_domains": ["*.hosted.example", "hosted.example"],
    "SMEMBERS open_set": ["10.0.0.0/8", "*"],
  };

  const cases: { kind: "host" | "domain"; list: ListInput; value: string; want: string; wantCalls: string[]; wantMember?: string }[] = [
    { kind: "host", list: "127.0.0.1 : redis;SMEMBERS relay_from_ips", value: "10.1.1.1", want: "match", wantCalls: ["SMEMBERS relay_from_ips"], wantMember: "10.0.0.0/8" },
    { kind: "host", list: ["redis:SMEMBERS relay_from_ips"], value: "2001:db8::5", want: "match", wantCalls: ["SMEMBERS relay_from_ips"] },
    { kind: "host", list: ["redis:SMEMBERS relay_from_ips"], value: "::ffff:192.168.0.9", want: "match", wantCalls: ["SMEMBERS relay_from_ips"] },
    { kind: "host", list: "127.0.0.1 : redis;SMEMBERS relay_from_ips", value: "127.0.0.1", want: "match", wantCalls: [] },
    { kind: "host", list: "redis;SMEMBERS relay_from_ips", value: "172.16.0.1", want: "nomatch", wantCalls: ["SMEMBERS relay_from_ips"] },
    { kind: "host", list: "redis;SISMEMBER relay_ips $host", value: "198.51.100.7", want: "match", wantCalls: ["SISMEMBER relay_ips 198.51.100.7"] },
    { kind: "host", list: "redis;SISMEMBER relay_ips $host", value: "::ffff:198.51.100.7", want: "match", wantCalls: ["SISMEMBER relay_ips 198.51.100.7"] },
    { kind: "host", list: "!redis;GET block::$host : *", value: "203.0.113.5", want: "nomatch", wantCalls: ["GET block:203.0.113.5"] },
    { kind: "host", list: "!redis;GET block::$host : *", value: "203.0.113.6", want: "match", wantCalls: ["GET block:203.0.113.6"] },
    { kind: "host", list: "redis;SISMEMBER relay_ips $host", value: "not-an-ip", want: "nomatch", wantCalls: [] },
    { kind: "domain", list: "localhost : redis;HGET $domain domain", value: "Example.NET", want: "match", wantCalls: ["HGET example.net domain"] },
    { kind: "domain", list: "${lookup redis{HGET $domain domain}}", value: "example.org", want: "nomatch", wantCalls: ["HGET example.org domain"] },
    { kind: "domain", list: "redis;SMEMBERS local_domains", value: "a.hosted.example", want: "match", wantCalls: ["SMEMBERS local_domains"], wantMember: "*.hosted.example" },
    { kind: "domain", list: "redis;HGET $domain domain", value: "", want: "nomatch", wantCalls: [] },
    // a client value with CR LF and spaces stays one argument
    { kind: "domain", list: "redis;SISMEMBER d $domain", value: "x\r\nFLUSHALL", want: "nomatch", wantCalls: ["SISMEMBER d x\r\nflushall"] },
  ];
  it.each(cases)("$kind $list against $value", async ({ kind, list, value, want, wantCalls, wantMember }) => {
    const redis = fakeLookup(answers);
    const compiled = kind === "host" ? hostList(list, { redis }) : domainList(list, { redis });
    const r = await compiled.match(value);
    expect(r.result).toBe(want);
    expect(redis.calls).toEqual(wantCalls);
    if (wantMember !== undefined) expect(r).toMatchObject({ member: wantMember });
  });

  it("a failed lookup defers; an earlier match still decides; a later item is not tried", async () => {
    const down = new RedisUnavailableError("SMEMBERS", [{ server: "127.0.0.1:6379/0", reason: "connect ECONNREFUSED" }]);
    const redis = fakeLookup({ "SMEMBERS relay_from_ips": down });
    const list = hostList("127.0.0.1 : !192.0.2.66 : redis;SMEMBERS relay_from_ips : *", { redis });
    expect(await list.match("127.0.0.1")).toEqual({ result: "match", item: "127.0.0.1" });
    expect(await list.match("192.0.2.66")).toEqual({ result: "nomatch", item: "!192.0.2.66" });
    const r = await list.match("10.0.0.1");
    expect(r).toMatchObject({ result: "defer", item: "redis;SMEMBERS relay_from_ips" });
    if (r.result !== "defer") throw new Error("unreachable");
    expect(r.error).toMatchObject({ name: "HostlistLookupError", code: HostlistErrorCode.LookupFailed, command: "SMEMBERS", cause: down });
    expect(r.error.message).toContain("ECONNREFUSED");
  });

  it("a negated lookup that fails defers too (never a match)", async () => {
    const redis = fakeLookup({ "GET block:10.0.0.1": new Error("timeout") });
    expect((await hostList("!redis;GET block::$host : *", { redis }).match("10.0.0.1")).result).toBe("defer");
  });

  it("a bad member of an SMEMBERS answer defers, naming the member", async () => {
    const redis = fakeLookup(answers);
    const r = await hostList("redis;SMEMBERS bad_set", { redis }).match("172.16.0.1");
    expect(r).toMatchObject({ result: "defer", error: { code: HostlistErrorCode.LookupBadData } });
    expect(r.result === "defer" && r.error.message).toContain('member "not-a-cidr" of set "bad_set"');
  });

  it("a * in a Redis set defers instead of matching everybody", async () => {
    const r = await hostList("redis;SMEMBERS open_set", { redis: fakeLookup(answers) }).match("192.0.2.1");
    expect(r).toMatchObject({ result: "defer", error: { code: HostlistErrorCode.LookupBadData } });
  });

  it("an answer of the wrong shape defers", async () => {
    const redis: Lookup = { query: () => Promise.resolve(true) };
    expect((await hostList("redis;SMEMBERS relay_from_ips", { redis }).match("10.0.0.1")).result).toBe("defer");
  });

  it("compiles the members of one answer once", async () => {
    const members = ["10.0.0.0/8"];
    let calls = 0;
    const redis: Lookup = {
      query: () => {
        calls++;
        return Promise.resolve(members);
      },
    };
    const list = hostList("redis;SMEMBERS s", { redis });
    for (let i = 0; i < 3; i++) expect((await list.match("10.0.0.1")).result).toBe("match");
    expect(calls).toBe(3);
  });
});

describe("compiling", () => {
  it.each([
    ["10.0.0.0/8 : mail.example.com", 'bad item "mail.example.com" (item 2): host names are not supported'],
    ["2001:db8::/32", 'bad item "2001" (item 1): not an IP address or CIDR (IPv6 in a'],
    ["127.0.0.1 : redis;SMEMBERS relay_from_ips", 'bad item "redis;SMEMBERS relay_from_ips" (item 2): a redis lookup needs redis_servers'],
  ])("hostList(%j) throws %j", (list, want) => {
    expect(() => hostList(list)).toThrow(HostlistConfigError);
    expect(() => hostList(list)).toThrow(want);
  });

  it("needs the primary host name for @", () => {
    expect(() => domainList("@")).toThrow('bad item "@" (item 1): @ needs the primary host name');
  });

  it("matchSync refuses a list with lookup items", () => {
    expect(() => hostList("127.0.0.1 : redis;SMEMBERS x", { redis: fakeLookup({}) }).matchSync("127.0.0.1")).toThrow(TypeError);
  });

  it("refuses lookups when told to", () => {
    expect(() => hostList("redis;SMEMBERS x", { lookups: false, redis: fakeLookup({}) })).toThrow("lookups are not allowed");
  });

  it("reports lookups and items", () => {
    expect(listUsesLookups(["127.0.0.1", "redis:SMEMBERS relay_from_ips"], "host")).toBe(true);
    expect(listUsesLookups("localhost : example.com", "domain")).toBe(false);
    expect(hostList("<; ::1 ; !10.0.0.0/8").items.map((i) => [i.kind, i.negated])).toEqual([
      ["cidr", false],
      ["cidr", true],
    ]);
    expect(hostList("10.0.0.0/8").usesLookups).toBe(false);
    expect(parseList("a : b", "domain")).toHaveLength(2);
  });
});
