import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from "@postern/proxy-protocol";
import { type Backend, startNats } from "@postern/testing";
import { idOf, MailReader, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

const source = { address: "192.0.2.10", port: 40000 };
const destination = { address: "198.51.100.20", port: 25 };
const refused = "503 5.7.0 Command refused, required Proxy negotiation failed\r\n";

function withAlteredSource(header: Buffer): Buffer {
  const copy = Buffer.from(header);
  copy[16] = (copy[16] ?? 0) ^ 0x01; // first byte of the v2 IPv4 source address
  return copy;
}

/** One transaction after an optional raw prefix (the PROXY header), pipelined as a correct client does after EHLO. */
async function transaction(port: number, prefix: Buffer, rcpt = "user@localhost"): Promise<string[]> {
  const c = await SmtpTestClient.open(port);
  try {
    c.send(prefix);
    const greeting = await c.greet();
    c.send(`MAIL FROM:<a@example.org>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
    const head = [...greeting, ...(await c.read(3))];
    if (!head[4]?.startsWith("354")) return head;
    c.send("Subject: via proxy\r\n\r\nhello\r\n.\r\nQUIT\r\n");
    return [...head, ...(await c.read(2))];
  } finally {
    c.close();
  }
}

describe("edge: PROXY protocol from peers in hosts_proxy", () => {
  let nats: Backend;
  let edge: TestEdge;
  let reader: MailReader;

  beforeAll(async () => {
    nats = await startNats();
    // 127.0.0.1 is the load balancer; only the client behind it (192.0.2.10) may relay.
    edge = await startTestEdge(nats, { proxy_required_hosts: ["127.0.0.1"], relay_from_hosts: ["192.0.2.10"] });
    reader = await MailReader.open(nats);
  });

  afterAll(async () => {
    await reader?.close();
    await edge?.stop();
    await nats?.stop();
  });

  it("takes the client address from a v1 header (relay policy, MAIL record, log line with PRX=)", async () => {
    const replies = await transaction(edge.port, encodeProxyHeaderV1({ family: "TCP4", source, destination }), "someone@example.net");
    expect(replies[0]).toMatch(/^220 /);
    expect(replies[5]).toMatch(/^250 2\.0\.0 OK id=/);
    const id = idOf(replies[5]);
    const record = await reader.record(id);
    expect(record.client).toMatchObject({ ip: "192.0.2.10", port: 40000, localIp: "198.51.100.20", localPort: 25, proxySession: true, proxyHostAddress: "127.0.0.1" });
    const line = edge.logs.lines.find((l) => l.message_id === id && l.event === "msg.received");
    expect(line?.msg).toMatch(new RegExp(`^<= a@example\\.org H=client\\.test \\[192\\.0\\.2\\.10\\] P=esmtp PRX=127\\.0\\.0\\.1 S=\\d+ id=${id}$`));
    const body = record.body?.location?.$case === "inline" ? Buffer.from(record.body.location.value).toString("latin1") : "";
    expect(body).toMatch(/^Received: from client\.test \(\[192\.0\.2\.10\]\)/);
  });

  it("accepts a v2 header over 232 bytes with CRC32C, unique id and SSL TLVs, and records the TLS facts", async () => {
    const header = encodeProxyHeaderV2(
      {
        family: "TCP6",
        source: { address: "2001:db8::1", port: 51000 },
        destination: { address: "2001:db8::25", port: 25 },
        tlvs: {
          alpn: "smtp",
          authority: `${"a".repeat(70)}.mx.example`,
          uniqueId: "x".repeat(82),
          ssl: { client: 0x07, verify: 0, version: "TLSv1.3", cn: "client.example", cipher: "TLS_AES_256_GCM_SHA384", sigAlg: "RSA-SHA256", keyAlg: "RSA2048" },
        },
      },
      { crc32c: true },
    );
    expect(header.length).toBeGreaterThan(232);
    const replies = await transaction(edge.port, header);
    expect(replies[5]).toMatch(/^250 2\.0\.0 OK id=/);
    const record = await reader.record(idOf(replies[5]));
    expect(record.client).toMatchObject({
      ip: "2001:db8::1",
      proxyTlsVersion: "TLSv1.3",
      proxyTlsCipher: "TLS_AES_256_GCM_SHA384",
      proxyTlsClientCn: "client.example",
      proxyTlsClientCertVerified: true,
      proxyAlpn: "smtp",
      proxyUniqueId: Buffer.from("x".repeat(82)).toString("hex"),
    });
  });

  it("accepts a header dribbled one byte at a time within the timeout", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      for (const byte of encodeProxyHeaderV2({ family: "TCP4", source, destination }, { crc32c: true })) {
        c.send(Buffer.of(byte));
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await c.read(1))[0]).toMatch(/^220 /);
      c.send("EHLO client.test\r\n");
      expect((await c.read(1))[0]).toMatch(/^250-/);
    } finally {
      c.close();
    }
  });

  it("keeps the socket addresses for LOCAL (a health check) and still speaks SMTP", async () => {
    const replies = await transaction(edge.port, encodeProxyHeaderV2({ command: "LOCAL", family: "UNSPEC" }));
    expect(replies[5]).toMatch(/^250 2\.0\.0 OK id=/);
    const record = await reader.record(idOf(replies[5]));
    expect(record.client).toMatchObject({ ip: "127.0.0.1", proxySession: false });
  });

  it.each([
    ["a bad CRC32C (address altered after the checksum)", withAlteredSource(encodeProxyHeaderV2({ family: "TCP4", source, destination }, { crc32c: true }))],
    ["an SMTP command instead of a header", Buffer.from("EHLO client.test\r\n")],
    ["a v1 line over 107 bytes", Buffer.from(`PROXY TCP4 192.0.2.10 198.51.100.20 40000 25${" ".repeat(80)}\r\n`)],
  ])("answers %s with the banner, then 503 to everything but QUIT", async (_label, bad) => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      c.send(bad);
      expect((await c.read(1))[0]).toMatch(/^220 edge\.test /);
      expect(await c.command("EHLO client.test")).toEqual(refused);
      c.send("MAIL FROM:<a@example.org>\r\n");
      expect(await c.read(1)).toEqual([refused]);
      c.send("QUIT\r\n");
      expect(await c.read(1)).toEqual(["221 2.0.0 Bye\r\n"]);
      await c.closedByServer();
    } finally {
      c.close();
    }
    expect(edge.logs.lines.some((l) => l.event === "proxy.failed")).toBe(true);
  });

  it("gives a silent required peer the 503 behaviour after proxy_timeout (3 s)", async () => {
    const started = Date.now();
    const c = await SmtpTestClient.open(edge.port);
    try {
      expect((await c.read(1, 6000))[0]).toMatch(/^220 /);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
      c.send("EHLO client.test\r\n");
      expect(await c.read(1)).toEqual([refused]);
    } finally {
      c.close();
    }
  }, 15_000);
});

describe("edge: peers outside hosts_proxy", () => {
  let nats: Backend;
  let edge: TestEdge;

  beforeAll(async () => {
    nats = await startNats();
    edge = await startTestEdge(nats, { hosts_proxy: ["192.0.2.99"], relay_from_hosts: ["192.0.2.10"] });
  });

  afterAll(async () => {
    await edge?.stop();
    await nats?.stop();
  });

  it("cannot spoof an address with a PROXY line: it is refused as an unknown command and the socket address stays", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      expect((await c.read(1))[0]).toMatch(/^220 /);
      c.send(encodeProxyHeaderV1({ family: "TCP4", source, destination }));
      expect((await c.read(1))[0]).toMatch(/^500 5\.5\.2 /);
      await c.command("EHLO client.test");
      c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<someone@example.net>\r\n");
      const replies = await c.read(2);
      expect(replies[1]).toMatch(/^550 5\.7\.1 /); // 127.0.0.1 may not relay; 192.0.2.10 could have
    } finally {
      c.close();
    }
  });

  it("does not treat a v2 header as a client address either", async () => {
    const replies = await transaction(edge.port, encodeProxyHeaderV2({ family: "TCP4", source, destination }), "someone@example.net").catch((err: Error) => [err.message]);
    expect(replies.join("")).not.toMatch(/250 2\.1\.5/);
  });
});

describe("edge: proxy_failure_action drop", () => {
  let nats: Backend;
  let edge: TestEdge;

  beforeAll(async () => {
    nats = await startNats();
    edge = await startTestEdge(nats, { hosts_proxy: ["127.0.0.1"], proxy_failure_action: "drop", proxy_timeout: 0.2 });
  });

  afterAll(async () => {
    await edge?.stop();
    await nats?.stop();
  });

  it("closes without a banner", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      c.send("EHLO client.test\r\n");
      await c.closedByServer();
      await expect(c.read(1, 100)).rejects.toThrow(/closed after 0\/1/);
    } finally {
      c.close();
    }
  });
});
