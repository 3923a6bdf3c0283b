import { z } from "zod";
import { TtlCache } from "./cache";
import { domainListSchema, hostListSchema, redisServersSchema } from "./schema";

function issues(schema: z.ZodType, input: unknown): string[] {
  const r = schema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => i.message);
}

describe("config schemas", () => {
  const config = z.strictObject({
    local_domains: domainListSchema().default(["localhost"]),
    relay_from_hosts: hostListSchema().default(["127.0.0.1", "::1"]),
    hosts_proxy: hostListSchema({ lookups: false }).default([]),
    redis_servers: redisServersSchema().optional(),
  });

  it("accepts Exim strings and arrays and outputs the items", () => {
    const c = config.parse({
      local_domains: "@ : example.com : *.example.net : ^mx\\d+\\. : redis;HGET $domain domain",
      relay_from_hosts: "<; ::1 ; 192.0.2.0/24 ; redis:SMEMBERS relay_from_ips",
      redis_servers: "<; 127.0.0.1:6380/0/ ; 127.0.0.1//",
    });
    expect(c).toEqual({
      local_domains: ["@", "example.com", "*.example.net", "^mx\\d+\\.", "redis;HGET $domain domain"],
      relay_from_hosts: ["::1", "192.0.2.0/24", "redis:SMEMBERS relay_from_ips"],
      hosts_proxy: [],
      redis_servers: ["127.0.0.1:6380/0/", "127.0.0.1//"],
    });
    expect(config.parse({ redis_servers: "redis://127.0.0.1:6390/2" }).redis_servers).toEqual(["redis://127.0.0.1:6390/2"]);
    expect(config.parse({})).toMatchObject({ local_domains: ["localhost"], relay_from_hosts: ["127.0.0.1", "::1"] });
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ["a bad CIDR", { relay_from_hosts: ["10.0.0.0/33"] }, ['bad host list item "10.0.0.0/33" (item 1): prefix length must be 0-32']],
    [
      "IPv6 in a colon string",
      { relay_from_hosts: "127.0.0.1 : ::1" },
      ['bad host list item ":1" (item 2): not an IP address or CIDR (IPv6 in a \':\'-separated string: start the list with "<; " or double every colon)'],
    ],
    ["a bad regex", { local_domains: ["^mx("] }, ['bad domain list item "^mx(" (item 1): invalid regular expression: Invalid regular expression: /^mx(/i: Unterminated group']],
    ["two bad items", { local_domains: "ok.example : bad domain : @[]" }, [
      'bad domain list item "bad domain" (item 2): not a domain name, *suffix, ^regex, @ or lookup item',
      'bad domain list item "@[]" (item 3): @[] is not supported (only @, the primary host name)',
    ]],
    ["a lookup where none is allowed", { hosts_proxy: ["redis;SMEMBERS proxies"] }, ['bad host list item "redis;SMEMBERS proxies" (item 1): lookups are not allowed in this list']],
    ["a bad redis_servers item (password redacted)", { redis_servers: ["127.0.0.1/x/hunter2"] }, ['bad redis_servers item "127.0.0.1/x/***" (item 1): database must be a number, not "x"']],
    ["an empty redis_servers", { redis_servers: [] }, ["redis_servers needs at least 1 item(s)"]],
    ["a control character, escaped", { local_domains: ["a\u0000b"] }, ['bad domain list item "a\\u0000b" (item 1): not a domain name, *suffix, ^regex, @ or lookup item']],
  ])("names %s", (_name, input, want) => {
    expect(issues(config, input)).toEqual(want);
  });

  it("refuses what is neither a string nor an array of strings", () => {
    expect(issues(config, { relay_from_hosts: 5 })).toHaveLength(1);
    expect(issues(config, { relay_from_hosts: [5] })).toHaveLength(1);
  });
});

describe("TtlCache", () => {
  it("expires entries, evicts the least recently used and refuses bad options", () => {
    let t = 0;
    const c = new TtlCache<number>({ ttlMs: 100, maxEntries: 2, now: () => t });
    c.set("a", 1);
    c.set("b", 2);
    expect(c.get("a")).toBe(1); // a is now the most recently used
    c.set("c", 3); // evicts b
    expect([c.get("a"), c.get("b"), c.get("c")]).toEqual([1, undefined, 3]);
    t = 99;
    expect(c.get("a")).toBe(1);
    t = 100;
    expect(c.get("a")).toBeUndefined();
    expect(c.size).toBe(1);
    const off = new TtlCache<number>({ ttlMs: 0 });
    off.set("a", 1);
    expect(off.get("a")).toBeUndefined();
    expect(() => new TtlCache({ ttlMs: -1 })).toThrow(RangeError);
    expect(() => new TtlCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});
