import * as grpc from "@grpc/grpc-js";
import { domainList, hostList, type Lookup } from "@postern/hostlist";
import { ClientInfo, EdgeCallbackClient, type Staple } from "@postern/proto";
import { parseConfig, startGrpcServer, unaryCall, VerdictStreams } from "@postern/service-kit";
import { pino } from "pino";
import { withProtocol } from "./accept";
import { edgeCallbackServer, StapleStore } from "./callback";
import { configSchema } from "./config";
import { normalizeIp } from "./connection";
import { newMessageId } from "./message-id";
import { recipientPolicy } from "./policy";
import { TxnRegistry } from "./txn";

describe("normalizeIp", () => {
  test("unmaps IPv4-mapped IPv6 only", () => {
    expect(normalizeIp("::FFFF:192.0.2.1")).toBe("192.0.2.1");
    expect(normalizeIp("::ffff:c000:201")).toBe("::ffff:c000:201");
    expect(normalizeIp("2001:db8::1")).toBe("2001:db8::1");
  });
});

describe("recipientPolicy", () => {
  const lookups: string[] = [];
  const redis: Lookup = {
    query: (q) => {
      const member = q.args[1] ?? "";
      lookups.push(member);
      return member === "broken.example" ? Promise.reject(new Error("redis down")) : Promise.resolve(member === "redis.example");
    },
  };
  const policy = recipientPolicy({
    localDomains: domainList(["localhost", "redis;SISMEMBER local_domains $domain"], { redis }),
    relayDomains: domainList(["relay.example"]),
    relayFromHosts: hostList(["192.0.2.0/24"]),
  });
  test.each([
    ["localhost", "198.51.100.1", { result: "accepted", reason: "local_domain", item: "localhost" }],
    ["LocalHost", "198.51.100.1", { result: "accepted", reason: "local_domain" }],
    ["", "198.51.100.1", { result: "accepted", reason: "postmaster" }],
    ["relay.example", "198.51.100.1", { result: "accepted", reason: "relay_domain" }],
    ["anywhere.example", "192.0.2.9", { result: "accepted", reason: "relay_host" }],
    ["Redis.Example", "198.51.100.1", { result: "accepted", reason: "local_domain", item: "redis;SISMEMBER local_domains $domain" }],
    ["anywhere.example", "198.51.100.1", { result: "denied" }],
    ["broken.example", "198.51.100.1", { result: "tempfail", list: "local_domains" }],
    // a failed lookup does not hold up a relay host
    ["broken.example", "192.0.2.9", { result: "accepted", reason: "relay_host" }],
    ["broken.example", "::ffff:192.0.2.9", { result: "accepted", reason: "relay_host" }],
  ])("%p from %p", async (domain, ip, want) => {
    expect(await policy(domain, ip)).toMatchObject(want);
  });
  test("an item before the lookup answers without it", () => {
    expect(lookups.map((d) => d.toLowerCase())).not.toContain("localhost");
    expect(lookups).toContain("redis.example");
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

  test("over gRPC: each message of a verdict stream resolves its transactions; Ack on half-close or when the edge ends the stream", async () => {
    const txns = new TxnRegistry();
    const streams = new VerdictStreams();
    const server = await startGrpcServer({ listen: "127.0.0.1:0", logger: pino({ level: "silent" }), services: [[EdgeCallbackClient.service, edgeCallbackServer(txns, new StapleStore(), streams)]] });
    const client = new EdgeCallbackClient(server.address, grpc.credentials.createInsecure());
    const verdict = (txnId: string) => ({ txnId, result: 1, domain: "example.org", smtpComment: "", headerComment: "", receivedSpf: "", explanation: "", identity: "mailfrom" });
    try {
      let acked: unknown;
      const call = client.streamSpfVerdicts((err, ack) => {
        acked = err ?? ack;
      });
      const [a, b, c] = [txns.open("spf", 5000), txns.open("spf", 5000), txns.open("spf", 5000)];
      call.write({ verdicts: [verdict(a.txnId), verdict(b.txnId)] });
      await expect(Promise.all([a.verdict, b.verdict])).resolves.toHaveLength(2);
      call.write({ verdicts: [verdict(c.txnId)] });
      await expect(c.verdict).resolves.toMatchObject({ domain: "example.org" });
      expect(streams.size).toBe(1);
      const ended = new Promise((resolve) => call.on("status", resolve));
      call.end();
      await expect(ended).resolves.toMatchObject({ code: grpc.status.OK });
      expect(acked).toEqual({});
      expect(streams.size).toBe(0);
      // the edge ends a stream the worker keeps open (its shutdown)
      const open = client.streamDmarcVerdicts(() => undefined);
      const status = new Promise((resolve) => open.on("status", resolve));
      await new Promise((resolve) => open.on("metadata", resolve));
      streams.end();
      await expect(status).resolves.toMatchObject({ code: grpc.status.OK });
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
      spool_inline_max: 262_144,
      smtp_timeout_ms: 300_000,
      smtp_accept_max: 1000,
      smtp_accept_max_per_host: 0,
      connection_events: true,
      message_linelength_limit: 0,
      allow_untrusted_routing: false,
      smtp_enforce_sync: true,
      smtp_banner_delay_ms: 0,
      tls_sni: {},
      submission_listen: [],
      prdr_enable: true,
      prdr_reject_recipients: [],
      lookup_cache_ttl_ms: 5_000,
      grpc: { listen: "127.0.0.1:0" },
      http: { host: "127.0.0.1", port: 0 },
    });
    expect(c.edge.hostname.length).toBeGreaterThan(0);
    expect(c.edge.redis_servers).toBeUndefined();
    // the two read timeouts default to smtp_timeout_ms (connection.ts)
    expect(c.edge.smtp_command_timeout_ms).toBeUndefined();
    expect(c.edge.smtp_data_timeout_ms).toBeUndefined();
  });

  test("lists in Exim syntax from env-style strings", () => {
    const c = parseConfig(configSchema, { edge: { local_domains: "Example.ORG : localhost", relay_from_hosts: "<; 10.0.0.0/8 ; ::1", smtp_listen: "127.0.0.1:25,[::1]:25" } });
    expect(c.edge.local_domains).toEqual(["Example.ORG", "localhost"]);
    expect(c.edge.relay_from_hosts).toEqual(["10.0.0.0/8", "::1"]);
    expect(c.edge.smtp_listen).toEqual(["127.0.0.1:25", "[::1]:25"]);
  });

  test.each([
    [{ relay_from_hosts: ["10.0.0.0/40"] }, "edge.relay_from_hosts"],
    [{ smtp_listen: ["nowhere"] }, "edge.smtp_listen[0]"],
    [{ redis_servers: ["http://x"] }, "edge.redis_servers"],
    [{ local_domains: "localhost : redis;SISMEMBER k $domain" }, "edge.redis_servers"],
    [{ hosts_proxy: ["redis;SMEMBERS proxies"] }, "edge.hosts_proxy"],
    [{ local_domains_redis_set: "k" }, "edge.local_domains_redis_set"],
    [{ message_size_limt: 5 }, "edge.message_size_limt"],
    [{ tls_certificate: "/x.crt" }, "edge.tls_privatekey"],
    [{ tls_sni: { "a.test": { certificate: "/a.crt", privatekey: "/a.key" } } }, "edge.tls_sni"],
    [{ tls_certificate: "/x.crt", tls_privatekey: "/x.key", tls_sni: { "a.test": { certificate: "/a.crt" } } }, 'edge.tls_sni["a.test"].privatekey'],
    [{ smtp_banner_delay_ms: -1 }, "edge.smtp_banner_delay_ms"],
    [{ smtp_accept_max: -1 }, "edge.smtp_accept_max"],
    [{ smtp_accept_max_per_host: 1.5 }, "edge.smtp_accept_max_per_host"],
    [{ smtp_command_timeout_ms: 0 }, "edge.smtp_command_timeout_ms"],
    [{ message_linelength_limit: 500 }, "edge.message_linelength_limit"],
    [{ submission_listen: ["127.0.0.1:5587"], auth_passwords_file: "/p" }, "edge.submission_listen"],
    [{ submission_listen: ["127.0.0.1:5587"], tls_certificate: "/c", tls_privatekey: "/k" }, "edge.submission_listen"],
    [{ auth_redis_hash: "k" }, "edge.auth_redis_hash"],
    [{ prdr_reject_recipients: ["nobody"] }, "edge.prdr_reject_recipients[0]"],
  ])("refuses %p", (edge, path) => {
    expect(() => parseConfig(configSchema, { edge })).toThrow(expect.objectContaining({ name: "ConfigError", issues: expect.arrayContaining([expect.objectContaining({ path })]) as unknown }) as Error);
  });
});
