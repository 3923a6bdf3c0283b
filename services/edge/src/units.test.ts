import * as grpc from "@grpc/grpc-js";
import { ClientInfo, EdgeCallbackClient, type Staple } from "@postern/proto";
import { parseConfig, startGrpcServer, unaryCall } from "@postern/service-kit";
import { pino } from "pino";
import { withProtocol } from "./accept";
import { edgeCallbackServer, StapleStore } from "./callback";
import { configSchema } from "./config";
import { hostList, normalizeIp, parseHostSpec } from "./hosts";
import { newMessageId } from "./message-id";
import { recipientPolicy } from "./policy";
import { TxnRegistry } from "./txn";

describe("hosts", () => {
  test.each([
    ["192.0.2.1", { address: "192.0.2.1", prefix: 32, family: "ipv4" }],
    ["10.0.0.0/8", { address: "10.0.0.0", prefix: 8, family: "ipv4" }],
    ["2001:db8::/32", { address: "2001:db8::", prefix: 32, family: "ipv6" }],
    ["::1", { address: "::1", prefix: 128, family: "ipv6" }],
    ["10.0.0.0/33", null],
    ["10.0.0.0/", null],
    ["example.org", null],
    ["", null],
  ])("parseHostSpec(%p)", (spec, want) => {
    expect(parseHostSpec(spec)).toEqual(want);
  });

  const list = hostList(["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]);
  test.each([
    ["127.0.0.1", true],
    ["::ffff:127.0.0.1", true],
    ["10.200.1.1", true],
    ["11.0.0.1", false],
    ["2001:db8:1::5", true],
    ["2001:db9::5", false],
    ["::1", false],
    ["not an ip", false],
  ])("hostList has %p", (ip, want) => {
    expect(list.has(ip)).toBe(want);
  });

  test("normalizeIp", () => {
    expect(normalizeIp("::FFFF:192.0.2.1")).toBe("192.0.2.1");
    expect(normalizeIp("::ffff:c000:201")).toBe("::ffff:c000:201");
  });
});

describe("recipientPolicy", () => {
  const lookups: string[] = [];
  const policy = recipientPolicy({
    localDomains: ["localhost"],
    relayDomains: ["relay.example"],
    relayFromHosts: hostList(["192.0.2.0/24"]),
    isLocalDomain: (d) => {
      lookups.push(d);
      return d === "broken.example" ? Promise.reject(new Error("redis down")) : Promise.resolve(d === "redis.example");
    },
  });
  test.each([
    ["localhost", "198.51.100.1", { result: "accepted", reason: "local_domain" }],
    ["LocalHost", "198.51.100.1", { result: "accepted", reason: "local_domain" }],
    ["", "198.51.100.1", { result: "accepted", reason: "postmaster" }],
    ["relay.example", "198.51.100.1", { result: "accepted", reason: "relay_domain" }],
    ["anywhere.example", "192.0.2.9", { result: "accepted", reason: "relay_host" }],
    ["Redis.Example", "198.51.100.1", { result: "accepted", reason: "redis_domain" }],
    ["anywhere.example", "198.51.100.1", { result: "denied" }],
    ["broken.example", "198.51.100.1", { result: "tempfail" }],
  ])("%p from %p", async (domain, ip, want) => {
    expect(await policy(domain, ip)).toMatchObject(want);
  });
  test("static answers need no lookup", () => {
    expect(lookups).toEqual(["redis.example", "anywhere.example", "broken.example"]);
  });
});

describe("withProtocol", () => {
  test.each([
    ["esmtp", false, "ESMTP"],
    ["smtp", false, "SMTP"],
    ["esmtp", true, "UTF8SMTP"],
    ["esmtps", true, "UTF8SMTPS"],
    ["esmtpsa", true, "UTF8SMTPSA"],
  ])("%s smtputf8=%p", (protocol, utf8, want) => {
    expect(withProtocol(ClientInfo.fromPartial({ protocol }), utf8)).toBe(want);
  });
});

describe("newMessageId", () => {
  test("unique and sorted by time", () => {
    const ids = [0, 1, 1, 2, 1e12, 2e12].map((t) => newMessageId(t));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^[0-9a-z]{9}-[0-9a-z]{13}$/.test(id))).toBe(true);
    expect(ids.map((id) => id.slice(0, 9))).toEqual([...ids.map((id) => id.slice(0, 9))].sort());
  });
});

describe("TxnRegistry", () => {
  test("resolves by id, drops unknown, late and wrong-kind verdicts", async () => {
    const dropped: string[] = [];
    const reg = new TxnRegistry((kind, id) => dropped.push(`${kind}:${id}`));
    const a = reg.open<string>("spf", 1000);
    const b = reg.open<string>("dmarc", 10);
    expect(a.txnId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(reg.resolve("dmarc", a.txnId, "wrong kind")).toBe(false);
    expect(reg.resolve("spf", a.txnId, "pass")).toBe(true);
    await expect(a.verdict).resolves.toBe("pass");
    await expect(b.verdict).resolves.toBeNull();
    expect(reg.resolve("dmarc", b.txnId, "late")).toBe(false);
    expect(dropped).toEqual([`dmarc:${a.txnId}`, `dmarc:${b.txnId}`]);
    const c = reg.open("spf", 10_000);
    reg.close();
    await expect(c.verdict).resolves.toBeNull();
    expect(reg.size).toBe(0);
  });
});

describe("StapleStore and the EdgeCallback server", () => {
  const certId = "ab".repeat(32);
  const staple = (thisUpdate: number, nextUpdate: number): Staple => ({
    certId,
    ocspResponseDer: Buffer.from([0x30, 0]),
    thisUpdate: new Date(thisUpdate),
    nextUpdate: new Date(nextUpdate),
  });

  test("keeps the newest valid staple", () => {
    const s = new StapleStore();
    const now = new Date(10_000);
    expect(s.put(staple(1000, 5000), now)).toBe(false); // already expired
    expect(s.put(staple(9000, 20_000), now)).toBe(true);
    expect(s.put(staple(8000, 30_000), now)).toBe(false); // older
    expect(s.get(certId, now)?.thisUpdate).toEqual(new Date(9000));
    expect(s.get(certId, new Date(25_000))).toBeUndefined();
  });

  test("over gRPC: verdicts resolve transactions, bad staples are refused", async () => {
    const txns = new TxnRegistry();
    const staples = new StapleStore();
    const server = await startGrpcServer({ listen: "127.0.0.1:0", logger: pino({ level: "silent" }), services: [[EdgeCallbackClient.service, edgeCallbackServer(txns, staples)]] });
    const client = new EdgeCallbackClient(server.address, grpc.credentials.createInsecure());
    try {
      const t = txns.open("spf", 5000);
      await unaryCall(client.reportSpf.bind(client), { txnId: t.txnId, result: 1, domain: "example.org", smtpComment: "", headerComment: "", receivedSpf: "", explanation: "", identity: "mailfrom" }, 5000);
      await expect(t.verdict).resolves.toMatchObject({ domain: "example.org" });
      await unaryCall(client.putStaple.bind(client), staple(Date.now() - 1000, Date.now() + 60_000), 5000);
      expect(staples.get(certId)).toBeDefined();
      await expect(unaryCall(client.putStaple.bind(client), { ...staple(0, Date.now() + 1000), certId: "nope" }, 5000)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe("configSchema", () => {
  test("defaults", () => {
    const c = parseConfig(configSchema, {});
    expect(c.edge).toMatchObject({
      smtp_listen: ["127.0.0.1:2525"],
      message_size_limit: 52_428_800,
      recipients_max: 100,
      local_domains: ["localhost"],
      relay_to_domains: [],
      relay_from_hosts: ["127.0.0.1", "::1"],
      spool_inline_max: 65_536,
      smtp_timeout_ms: 300_000,
      grpc: { listen: "127.0.0.1:0" },
      http: { host: "127.0.0.1", port: 0 },
    });
    expect(c.edge.hostname.length).toBeGreaterThan(0);
    expect(c.edge.redis_servers).toBeUndefined();
  });

  test("lists from env-style strings, domains lower-cased", () => {
    const c = parseConfig(configSchema, { edge: { local_domains: "Example.ORG, localhost", relay_from_hosts: "10.0.0.0/8,::1", smtp_listen: "127.0.0.1:25,[::1]:25" } });
    expect(c.edge.local_domains).toEqual(["example.org", "localhost"]);
    expect(c.edge.relay_from_hosts).toEqual(["10.0.0.0/8", "::1"]);
    expect(c.edge.smtp_listen).toEqual(["127.0.0.1:25", "[::1]:25"]);
  });

  test.each([
    [{ relay_from_hosts: ["10.0.0.0/40"] }, "edge.relay_from_hosts[0]"],
    [{ smtp_listen: ["nowhere"] }, "edge.smtp_listen[0]"],
    [{ redis_servers: ["http://x"] }, "edge.redis_servers[0]"],
    [{ local_domains_redis_set: "k" }, "edge.local_domains_redis_set"],
    [{ message_size_limt: 5 }, "edge.message_size_limt"],
  ])("refuses %p", (edge, path) => {
    expect(() => parseConfig(configSchema, { edge })).toThrow(expect.objectContaining({ name: "ConfigError", issues: expect.arrayContaining([expect.objectContaining({ path })]) as unknown }) as Error);
  });
});
