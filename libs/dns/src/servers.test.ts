import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SERVERS, offHostServers, parseResolvConf, parseServer, systemServers } from "./servers";

describe("parseServer", () => {
  it.each([
    ["127.0.0.1:53", { host: "127.0.0.1", port: 53, family: 4, label: "127.0.0.1:53" }],
    ["127.0.0.1", { host: "127.0.0.1", port: 53, family: 4, label: "127.0.0.1:53" }],
    ["[::1]:5353", { host: "::1", port: 5353, family: 6, label: "[::1]:5353" }],
    ["[::1]", { host: "::1", port: 53, family: 6, label: "[::1]:53" }],
    ["::1", { host: "::1", port: 53, family: 6, label: "[::1]:53" }],
    ["[0:0:0:0:0:0:0:1]:53", { host: "::1", port: 53, family: 6, label: "[::1]:53" }],
    [" 192.0.2.53:1053 ", { host: "192.0.2.53", port: 1053, family: 4, label: "192.0.2.53:1053" }],
  ])("%s", (text, want) => expect(parseServer(text)).toEqual(want));

  it.each(["", "localhost", "localhost:53", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "[127.0.0.1]:53", "[::1]:", "::1:53x", "300.0.0.1", "1.2.3:53"])(
    "rejects %j",
    (text) => expect(parseServer(text)).toBeNull(),
  );
});

describe("resolv.conf", () => {
  it("keeps nameserver lines in order and skips the rest", () => {
    const text = "# comment\nsearch example.com\nnameserver 192.0.2.1\n  nameserver ::1  # local\n;nameserver 192.0.2.9\noptions trust-ad\nnameserver\n";
    expect(parseResolvConf(text)).toEqual(["192.0.2.1", "::1"]);
  });

  it("reads a file, falling back to the loopback defaults", () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-dns-conf-"));
    try {
      writeFileSync(join(dir, "with"), "nameserver 192.0.2.7\n");
      writeFileSync(join(dir, "without"), "search example.com\n");
      expect(systemServers(join(dir, "with"))).toEqual(["192.0.2.7"]);
      expect(systemServers(join(dir, "without"))).toEqual([...DEFAULT_SERVERS]);
      expect(systemServers(join(dir, "missing"))).toEqual([...DEFAULT_SERVERS]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("offHostServers: resolvers whose AD bit crosses a network", () => {
  test.each([
    ["127.0.0.1", false],
    ["127.53.0.1:53", false],
    ["[::1]:5353", false],
    ["::1", false],
    ["[::ffff:127.0.0.1]:53", false],
    ["10.0.0.53", true],
    ["192.168.1.1:53", true],
    ["[2001:db8::53]:53", true],
    ["::ffff:10.0.0.1", true],
    ["resolver.example", true],
    ["", true],
  ])("%s → off host: %s", (server, offHost) => {
    expect(offHostServers([server])).toEqual(offHost ? [server] : []);
  });

  test("keeps the order and only the off-host entries", () => {
    expect(offHostServers(["127.0.0.1", "10.0.0.1", "[::1]:53", "8.8.8.8"])).toEqual(["10.0.0.1", "8.8.8.8"]);
  });
});
