import { Redis } from "ioredis";
import { type Backend, startNats, startRedis } from "@postern/testing";
import { idOf, MailReader, sendPipelined, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

/** RCPT replies (first 9 characters) for each address, in one pipelined session from 127.0.0.1. */
async function rcptReplies(port: number, addresses: string[]): Promise<string[]> {
  const c = await SmtpTestClient.open(port);
  try {
    await c.greet();
    c.send(`MAIL FROM:<a@example.org>\r\n${addresses.map((a) => `RCPT TO:${a}\r\n`).join("")}`);
    return (await c.read(1 + addresses.length)).slice(1).map((r) => r.slice(0, 9));
  } finally {
    c.close();
  }
}

describe("edge: recipient policy and failures of Redis and NATS", () => {
  let nats: Backend;
  let redis: Backend;
  let edge: TestEdge;

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    // 127.0.0.1 is deliberately not a relay host here
    edge = await startTestEdge(nats, {
      relay_from_hosts: ["192.0.2.0/24", "2001:db8::/32"],
      local_domains: ["localhost", "Example.COM"],
      relay_to_domains: ["relay.example"],
      redis_servers: [redis.url],
      local_domains_redis_set: "postern:local_domains", // deprecated alias, kept working
      lookup_cache_ttl_ms: 0, // the test changes the set between lookups
    });
  });

  afterAll(async () => {
    await edge?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("accepts local and relay domains case-insensitively and denies relaying for a non-relay host", async () => {
    const got = await rcptReplies(edge.port, [
      "<user@localhost>",
      "<user@LOCALHOST>",
      "<user@example.com>",
      "<user@relay.example>",
      "<Postmaster>",
      "<user@elsewhere.example>",
      "<user%elsewhere.example@[127.0.0.1]>",
      "<@localhost:user@elsewhere.example>",
      '<"user@elsewhere.example">',
      "<user@elsewhere.example@localhost>",
      "<elsewhere.example!user@[192.0.2.1]>",
    ]);
    expect(got).toEqual([
      "250 2.1.5",
      "250 2.1.5",
      "250 2.1.5",
      "250 2.1.5",
      "250 2.1.5",
      "550 5.7.1",
      "550 5.7.1",
      "550 5.7.1",
      "501 5.1.3",
      "501 5.1.3",
      "550 5.7.1",
    ]);
    const rejected = edge.logs.lines.find((l) => l.event === "rcpt.rejected");
    expect(rejected).toMatchObject({ reason: "relay", recipient: "user@elsewhere.example", ip: "127.0.0.1" });
  });

  it("accepts a domain listed in the Redis set", async () => {
    expect(await rcptReplies(edge.port, ["<user@redis.example>"])).toEqual(["550 5.7.1"]);
    const client = new Redis(redis.url);
    await client.sadd("postern:local_domains", "redis.example");
    client.disconnect();
    expect(await rcptReplies(edge.port, ["<user@redis.example>", "<user@REDIS.example>"])).toEqual(["250 2.1.5", "250 2.1.5"]);
    const res = await fetch(`http://127.0.0.1:${edge.ctx.httpPort}/readyz`);
    expect(res.status).toBe(200);
  });

  it("takes Exim lists with Redis lookups: relay_from_hosts from SMEMBERS, local_domains with @ and wildcards", async () => {
    const client = new Redis(redis.url);
    await client.sadd("relay_from_ips", "10.9.9.9", "127.0.0.0/8");
    client.disconnect();
    const other = await startTestEdge(nats, {
      local_domains: "@ : *.sub.example : ^mx\\d+\\.example$",
      relay_from_hosts: ["redis;SMEMBERS relay_from_ips"],
      redis_servers: [redis.url.replace(/^redis:\/\/([^:/]+):(\d+).*$/, "$1:$2/0/")], // Exim syntax host:port/db/password
    });
    try {
      expect(await rcptReplies(other.port, ["<a@edge.test>", "<a@x.sub.example>", "<a@mx12.example>", "<a@sub.example>", "<a@anywhere.example>"])).toEqual([
        "250 2.1.5",
        "250 2.1.5",
        "250 2.1.5",
        "250 2.1.5", // 127.0.0.1 is in relay_from_ips
        "250 2.1.5",
      ]);
    } finally {
      await other.stop();
    }
  });

  it("answers 451 4.3.0 (never 250) for a Redis-listed domain while Redis is down; static domains still work", async () => {
    await redis.stop();
    expect(await rcptReplies(edge.port, ["<user@redis.example>", "<user@elsewhere.example>", "<user@localhost>"])).toEqual([
      "451 4.3.0",
      "451 4.3.0",
      "250 2.1.5",
    ]);
    const res = await fetch(`http://127.0.0.1:${edge.ctx.httpPort}/readyz`);
    expect(res.status).toBe(503);
  });

  it("answers 451 at end of DATA when NATS is unavailable, and keeps serving", async () => {
    const reader = await MailReader.open(nats);
    const ok = await sendPipelined(edge.port, { from: "a@example.org", to: ["user@localhost"], body: "Subject: before\r\n\r\nx\r\n" });
    expect(ok[4]).toMatch(/^250 2\.0\.0 OK id=/);
    expect((await reader.record(idOf(ok[4]))).sender).toBe("a@example.org");
    await reader.close();

    await nats.stop();
    for (const body of ["Subject: small\r\n\r\nx\r\n", `Subject: big\r\n\r\n${"z".repeat(100_000)}\r\n`]) {
      const replies = await sendPipelined(edge.port, { from: "a@example.org", to: ["user@localhost"], body });
      expect(replies.map((r) => r.slice(0, 9))).toEqual(["250-edge.", "250 2.1.0", "250 2.1.5", "354 End d", "451 4.3.0", "221 2.0.0"]);
    }
    const deferred = edge.logs.lines.filter((l) => l.event === "msg.deferred");
    expect(deferred).toHaveLength(2);
  });
});
