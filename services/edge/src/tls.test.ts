import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Backend, startNats } from "@postern/testing";
import { idOf, MailReader, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

/** A self-signed EC certificate for `cn` (also its subjectAltName), written to dir/<file>.crt and .key. */
function makeCert(dir: string, file: string, cn: string): { certificate: string; privatekey: string } {
  const certificate = join(dir, `${file}.crt`);
  const privatekey = join(dir, `${file}.key`);
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-keyout", privatekey, "-out", certificate],
    { stdio: "ignore" },
  );
  return { certificate, privatekey };
}

async function peerCn(port: number, servername?: string): Promise<string> {
  const c = await SmtpTestClient.open(port);
  try {
    await c.greet();
    const { client, tls } = await c.startTls(servername === undefined ? {} : { servername });
    const cn = tls.getPeerCertificate().subject.CN;
    client.close();
    return String(cn);
  } finally {
    c.close();
  }
}

describe("edge: STARTTLS", () => {
  let nats: Backend;
  let dir: string;
  let edge: TestEdge;
  let lax: TestEdge;
  let plain: TestEdge;
  let reader: MailReader;
  let main: { certificate: string; privatekey: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-edge-tls-"));
    main = makeCert(dir, "main", "edge.test");
    const sni = makeCert(dir, "sni", "mx.sni.test");
    nats = await startNats();
    const tls = { tls_certificate: main.certificate, tls_privatekey: main.privatekey, tls_sni: { "MX.sni.test": sni } };
    edge = await startTestEdge(nats, tls);
    lax = await startTestEdge(nats, { ...tls, smtp_enforce_sync: false });
    plain = await startTestEdge(nats);
    reader = await MailReader.open(nats);
  });

  afterAll(async () => {
    await reader?.close();
    await Promise.all([edge, lax, plain].map((e) => e?.stop()));
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("advertises STARTTLS only when a certificate is configured", async () => {
    for (const [e, want] of [[edge, true], [plain, false]] as const) {
      const c = await SmtpTestClient.open(e.port);
      const [, ehlo] = await c.greet();
      expect(ehlo?.includes("250-STARTTLS\r\n") ?? false).toBe(want);
      if (!want) expect(await c.command("STARTTLS")).toMatch(/^502 /);
      c.close();
    }
  });

  it("runs a transaction over TLS 1.2+ and records esmtps and the cipher", async () => {
    const c = await SmtpTestClient.open(edge.port);
    await c.greet();
    const { client, tls } = await c.startTls();
    try {
      expect(["TLSv1.2", "TLSv1.3"]).toContain(tls.getProtocol());
      const ehlo = await client.command("EHLO client.test");
      expect(ehlo).toMatch(/^250-edge\.test/);
      expect(ehlo).not.toContain("STARTTLS");
      client.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<user@localhost>\r\nDATA\r\n");
      expect((await client.read(3)).map((r) => r.slice(0, 3))).toEqual(["250", "250", "354"]);
      client.send("Subject: tls\r\n\r\nsecret\r\n.\r\n");
      const id = idOf((await client.read(1))[0]);
      const r = await reader.record(id);
      const cipher = tls.getCipher();
      expect(r.client).toMatchObject({ protocol: "esmtps", tlsCipher: `${cipher.version}:${cipher.name}` });
      const line = edge.logs.lines.find((l) => l.event === "msg.received" && l.message_id === id);
      expect(line?.msg).toMatch(new RegExp(` P=esmtps X=${cipher.version}:${cipher.name} S=`));
      const body = r.body?.location?.$case === "inline" ? Buffer.from(r.body.location.value).toString("utf8") : "";
      expect(body).toContain("with ESMTPS id");
    } finally {
      client.close();
      c.close();
    }
  });

  it("refuses TLS 1.1", async () => {
    const c = await SmtpTestClient.open(edge.port);
    await c.greet();
    await expect(c.startTls({ maxVersion: "TLSv1.1", minVersion: "TLSv1" })).rejects.toThrow();
    c.close();
  });

  it("picks the certificate by SNI (case-insensitive), the default otherwise", async () => {
    expect(await peerCn(edge.port, "mx.SNI.test")).toBe("mx.sni.test");
    expect(await peerCn(edge.port, "other.test")).toBe("edge.test");
    expect(await peerCn(edge.port)).toBe("edge.test");
  });

  it("discards plaintext injected after STARTTLS (CVE-2011-0411)", async () => {
    const c = await SmtpTestClient.open(lax.port);
    await c.greet();
    const injected = "RSET\r\nMAIL FROM:<injected@example.org>\r\n";
    c.send(`STARTTLS\r\n${injected}`);
    expect(await c.read(1)).toEqual(["220 2.0.0 Ready to start TLS\r\n"]);
    const { client } = await c.handshake();
    try {
      expect(await client.command("EHLO client.test")).toMatch(/^250-/);
      expect(await client.command("RCPT TO:<user@localhost>")).toMatch(/^503 /); // no MAIL was carried over
    } finally {
      client.close();
      c.close();
    }
    expect(lax.logs.lines.some((l) => l.event === "tls.plaintext_discarded" && l.bytes === injected.length)).toBe(true);
  });

  it("answers plaintext pipelined behind STARTTLS with 554 when the sync check is on", async () => {
    const c = await SmtpTestClient.open(edge.port);
    await c.greet();
    c.send("STARTTLS\r\nRSET\r\n");
    expect(await c.read(1)).toEqual(["554 5.5.0 SMTP synchronization error\r\n"]);
    await c.closedByServer();
    c.close();
  });

  it("picks up a replaced certificate on the next connection, without a restart", async () => {
    expect(await peerCn(edge.port)).toBe("edge.test");
    const next = makeCert(dir, "next", "renewed.test");
    renameSync(next.privatekey, main.privatekey);
    renameSync(next.certificate, main.certificate);
    expect(await peerCn(edge.port)).toBe("renewed.test");
    expect(edge.logs.lines.some((l) => l.event === "tls.loaded" && l.reloaded === true)).toBe(true);
  });

  it("serves swaks --tls", async () => {
    const { stdout } = await promisify(execFile)("swaks", ["--server", `127.0.0.1:${edge.port}`, "--from", "a@example.org", "--to", "user@localhost", "--tls", "--helo", "swaks.test"], { timeout: 20_000 });
    expect(stdout).toMatch(/<- {2}220 2\.0\.0 Ready to start TLS/);
    expect(stdout).toMatch(/=== TLS started with cipher TLSv1\.[23]/);
    expect(stdout).toMatch(/<~ {2}250 2\.0\.0 OK id=/);
  });
});
