import { HostlistConfigError } from "./errors";
import { parseRedisServer, parseRedisServers, redactServer, type RedisServerOptions } from "./redis-servers";
import type { ListInput } from "./split";

describe("parseRedisServer", () => {
  const cases: { item: string; wantLabel: string; want: RedisServerOptions }[] = [
    { item: "127.0.0.1//", wantLabel: "127.0.0.1:6379/0", want: { host: "127.0.0.1", port: 6379, db: 0 } },
    { item: "127.0.0.1/10/", wantLabel: "127.0.0.1:6379/10", want: { host: "127.0.0.1", port: 6379, db: 10 } },
    { item: "127.0.0.1//password", wantLabel: "127.0.0.1:6379/0", want: { host: "127.0.0.1", port: 6379, db: 0, password: "password" } },
    { item: "127.0.0.1:6380/2/p/with/slashes", wantLabel: "127.0.0.1:6380/2", want: { host: "127.0.0.1", port: 6380, db: 2, password: "p/with/slashes" } },
    { item: "[::1]:6380/0/secret", wantLabel: "[::1]:6380/0", want: { host: "::1", port: 6380, db: 0, password: "secret" } },
    { item: "[::1]//", wantLabel: "[::1]:6379/0", want: { host: "::1", port: 6379, db: 0 } },
    { item: "::1//", wantLabel: "[::1]:6379/0", want: { host: "::1", port: 6379, db: 0 } },
    { item: "redis.internal:7000/3/", wantLabel: "redis.internal:7000/3", want: { host: "redis.internal", port: 7000, db: 3 } },
    { item: "redis://127.0.0.1:6379/0", wantLabel: "127.0.0.1:6379/0", want: { host: "127.0.0.1", port: 6379, db: 0 } },
    { item: "redis://127.0.0.1", wantLabel: "127.0.0.1:6379/0", want: { host: "127.0.0.1", port: 6379, db: 0 } },
    { item: "redis://:s%2Fcret@[::1]:6390/4", wantLabel: "[::1]:6390/4", want: { host: "::1", port: 6390, db: 4, password: "s/cret" } },
    { item: "redis://user:pw@cache.example:6379/", wantLabel: "cache.example:6379/0", want: { host: "cache.example", port: 6379, db: 0, username: "user", password: "pw" } },
    { item: "rediss://cache.example:6380/1", wantLabel: "tls:cache.example:6380/1", want: { host: "cache.example", port: 6380, db: 1, tls: {} } },
  ];
  it.each(cases)("$item", ({ item, wantLabel, want }) => {
    expect(parseRedisServer(item)).toEqual({ label: wantLabel, options: want });
  });

  const errors: { item: string; want: RegExp }[] = [
    { item: "127.0.0.1", want: /expected host\[:port\]\/db\/password/ },
    { item: "127.0.0.1/0", want: /expected host\[:port\]\/db\/password/ },
    { item: "/0/", want: /no host/ },
    { item: "127.0.0.1:0//", want: /port must be 1-65535/ },
    { item: "127.0.0.1:70000//", want: /port must be 1-65535/ },
    { item: "127.0.0.1:/0/", want: /port must be 1-65535/ },
    { item: "127.0.0.1/x/", want: /database must be a number/ },
    { item: "127.0.0.1/-1/", want: /database must be a number/ },
    { item: "[127.0.0.1]:6379//", want: /IPv6 address inside/ },
    { item: "bad host//", want: /not a host name or IP address/ },
    { item: "redis://127.0.0.1/0?family=6", want: /query strings/ },
    { item: "redis://127.0.0.1/db0", want: /database must be a number/ },
    { item: "redis://", want: /not a valid URL|no host/ },
  ];
  it.each(errors)("refuses $item", ({ item, want }) => {
    const r = parseRedisServer(item);
    expect("error" in r && r.error).toMatch(want);
  });
});

describe("parseRedisServers", () => {
  it.each<[ListInput, string[]]>([
    ["127.0.0.1// : 127.0.0.2/1/", ["127.0.0.1:6379/0", "127.0.0.2:6379/1"]],
    ["<; 127.0.0.1:6380/0/ ; [::1]:6381//", ["127.0.0.1:6380/0", "[::1]:6381/0"]],
    ["127.0.0.1::6380/0/", ["127.0.0.1:6380/0"]],
    [["redis://127.0.0.1:6379/0", "10.0.0.5/2/pw"], ["127.0.0.1:6379/0", "10.0.0.5:6379/2"]],
    [" redis://127.0.0.1:6390/1 ", ["127.0.0.1:6390/1"]],
    ["<; redis://127.0.0.1:6390/1 ; rediss://[::1]:6391", ["127.0.0.1:6390/1", "tls:[::1]:6391/0"]],
  ])("%j", (list, want) => {
    expect(parseRedisServers(list).map((s) => s.label)).toEqual(want);
  });

  it("names the bad item and its position, never the password", () => {
    const bad = (): unknown => parseRedisServers(["127.0.0.1//", "127.0.0.1:99999/0/hunter2"]);
    expect(bad).toThrow(HostlistConfigError);
    expect(bad).toThrow('bad item "127.0.0.1:99999/0/***" (item 2): port must be 1-65535');
    expect(() => parseRedisServers("redis://u:hunter2@h/x")).toThrow('bad item "redis://***@h/x" (item 1): database must be a number');
    expect(() => parseRedisServers(["redis://u:hunter2@h/x"])).not.toThrow(/hunter2/);
  });

  it("a port in a ':' string needs <; or a doubled colon, as in Exim", () => {
    expect(() => parseRedisServers("127.0.0.1:6380/0/")).toThrow('bad item "127.0.0.1" (item 1): expected host[:port]/db/password');
  });

  it("refuses an empty list", () => {
    expect(() => parseRedisServers([])).toThrow(/^redis_servers is empty$/);
  });

  it.each([
    ["127.0.0.1//secret", "127.0.0.1//***"],
    ["127.0.0.1//", "127.0.0.1//"],
    ["127.0.0.1", "127.0.0.1"],
    ["redis://:pw@h/0", "redis://***@h/0"],
  ])("redactServer(%j) is %j", (item, want) => {
    expect(redactServer(item)).toBe(want);
  });
});
