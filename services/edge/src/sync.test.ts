import { encodeProxyHeaderV1 } from "@postern/proxy-protocol";
import { type Backend, startNats } from "@postern/testing";
import { sendPipelined, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

const syncError = "554 5.5.0 SMTP synchronization error\r\n";

describe("edge: Exim's synchronisation check (smtp_enforce_sync)", () => {
  let nats: Backend;
  let edge: TestEdge;
  let delayed: TestEdge;
  let lax: TestEdge;
  let proxied: TestEdge;

  beforeAll(async () => {
    nats = await startNats();
    edge = await startTestEdge(nats);
    delayed = await startTestEdge(nats, { smtp_banner_delay_ms: 400 });
    lax = await startTestEdge(nats, { smtp_enforce_sync: false, smtp_banner_delay_ms: 300 });
    proxied = await startTestEdge(nats, { hosts_proxy: ["127.0.0.1"] });
  });

  afterAll(async () => {
    await Promise.all([edge, delayed, lax, proxied].map((e) => e?.stop()));
    await nats?.stop();
  });

  it("answers a client that talks before the banner with 554 5.5.0 and closes", async () => {
    const c = await SmtpTestClient.open(delayed.port);
    try {
      c.send("EHLO early.test\r\n");
      expect(await c.read(1)).toEqual([syncError]);
      await c.closedByServer();
    } finally {
      c.close();
    }
    expect(delayed.logs.lines.some((l) => l.event === "smtp.protocol_error" && l.kind === "sync_greeting")).toBe(true);
  });

  it("delays the banner by smtp_banner_delay_ms and serves a patient client", async () => {
    const c = await SmtpTestClient.open(delayed.port);
    const t0 = Date.now();
    try {
      const [banner, ehlo] = await c.greet();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
      expect(banner).toMatch(/^220 edge\.test /);
      expect(ehlo).toMatch(/^250-edge\.test/);
    } finally {
      c.close();
    }
  });

  it("answers commands pipelined after HELO (no PIPELINING) with 554 and closes", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      await c.read(1);
      expect(await c.command("HELO client.test")).toMatch(/^250 /);
      c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<user@localhost>\r\n");
      const got = await c.read(1);
      expect(got).toEqual([syncError]);
      await c.closedByServer();
    } finally {
      c.close();
    }
  });

  it("answers commands pipelined behind EHLO (EHLO ends a group) with 554", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      await c.read(1);
      c.send("EHLO client.test\r\nMAIL FROM:<a@example.org>\r\n");
      expect(await c.read(1)).toEqual([syncError]);
      await c.closedByServer();
    } finally {
      c.close();
    }
  });

  it("accepts a correct pipelining client after EHLO", async () => {
    const replies = await sendPipelined(edge.port, { from: "a@example.org", to: ["u1@localhost", "u2@localhost"], body: "Subject: sync\r\n\r\nok\r\n" });
    expect(replies.map((r) => r.slice(0, 3))).toEqual(["250", "250", "250", "250", "354", "250", "221"]);
  });

  it("treats SMTP input in the read of a PROXY header as input before the banner", async () => {
    const c = await SmtpTestClient.open(proxied.port);
    try {
      const header = encodeProxyHeaderV1({ family: "TCP4", source: { address: "192.0.2.10", port: 40000 }, destination: { address: "198.51.100.20", port: 25 } });
      c.send(Buffer.concat([header, Buffer.from("EHLO client.test\r\n")]));
      expect(await c.read(1)).toEqual([syncError]);
      await c.closedByServer();
    } finally {
      c.close();
    }
  });

  it("with smtp_enforce_sync false, early input waits for the delayed banner and is served", async () => {
    const c = await SmtpTestClient.open(lax.port);
    try {
      c.send("EHLO early.test\r\nNOOP\r\n");
      const got = await c.read(3);
      expect(got[0]).toMatch(/^220 edge\.test /);
      expect(got[1]).toMatch(/^250-edge\.test/);
      expect(got[2]).toMatch(/^250 2\.0\.0/);
    } finally {
      c.close();
    }
  });
});
