import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSpool } from "@postern/bus";
import { type Backend, freePort, startNats, startRedis } from "@postern/testing";
import { Redis } from "ioredis";
import { hashPassword } from "./passwords";
import { idOf, MailReader, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";
import { swaks, swaksId } from "./testing/swaks";

/**
 * Issue #4 "Done when" 2: the swaks matrix against the running edge with a
 * real nats-server and redis-server — plain, STARTTLS, PIPELINING, AUTH PLAIN
 * and LOGIN on the submission listener, an SMTPUTF8 address, a 20 MB message
 * accepted and a message over message_size_limit refused with 552 5.3.4.
 * Every 250 is checked against the MAIL record in JetStream.
 *
 * swaks 20201014 has no BDAT and no way to send MAIL parameters such as
 * SMTPUTF8: BDAT is covered by a scripted client below, and the SMTPUTF8
 * case smuggles the parameter through --from (see there).
 */

const MB = 1024 * 1024;

describe("swaks against the edge (real NATS and Redis)", () => {
  let nats: Backend;
  let redis: Backend;
  let dir: string;
  let edge: TestEdge;
  let submission: number;
  let reader: MailReader;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-swaks-"));
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=edge.test", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")],
      { stdio: "ignore" },
    );
    writeFileSync(join(dir, "passwd"), `alice:${await hashPassword("wonderland")}\n`);
    // LF line ends: swaks turns them into CRLF
    writeFileSync(join(dir, "20mb.txt"), `Subject: twenty megabytes\n\n${`${"0123456789".repeat(7)}abcdef\n`.repeat(Math.ceil((20 * MB) / 77))}`);
    writeFileSync(join(dir, "23mb.txt"), `Subject: too big\n\n${`${"0123456789".repeat(7)}abcdef\n`.repeat(Math.ceil((23 * MB) / 77))}`);
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const r = new Redis(redis.url);
    await r.sadd("postern:local_domains", "redis-domain.example");
    await r.hset("postern:auth", "bob", await hashPassword("builder"));
    r.disconnect();
    submission = await freePort();
    edge = await startTestEdge(nats, {
      tls_certificate: join(dir, "c.pem"),
      tls_privatekey: join(dir, "k.pem"),
      submission_listen: [`127.0.0.1:${submission}`],
      auth_passwords_file: join(dir, "passwd"),
      auth_redis_hash: "postern:auth",
      redis_servers: [redis.url],
      local_domains: ["localhost", "redis;SISMEMBER postern:local_domains $domain"],
      relay_from_hosts: [], // 127.0.0.1 is a stranger here: only local domains, or AUTH, get 250
      message_size_limit: 22 * MB,
      publish_timeout_ms: 30_000, // a 20 MB spool write on a busy two-core machine
    });
    reader = await MailReader.open(nats);
  });

  afterAll(async () => {
    await reader?.close();
    await edge?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("plain: one message to a local domain", async () => {
    const r = await swaks(edge.port, ["--from", "sender@example.org", "--to", "user@localhost"]);
    expect(r.out).toMatch(/^<- {2}220 edge\.test ESMTP Postern$/m);
    expect(r.code).toBe(0);
    const record = await reader.record(swaksId(r.out));
    expect(record).toMatchObject({ sender: "sender@example.org", recipients: [{ address: "user@localhost" }] });
    expect(record.client).toMatchObject({ helo: "swaks.test", protocol: "esmtp", tlsCipher: "" });
  });

  it("plain: a domain listed in Redis is local, any other domain is refused", async () => {
    const ok = await swaks(edge.port, ["--from", "sender@example.org", "--to", "user@redis-domain.example"]);
    expect(ok.code).toBe(0);
    expect((await reader.record(swaksId(ok.out))).recipients[0]?.address).toBe("user@redis-domain.example");
    const refused = await swaks(edge.port, ["--from", "sender@example.org", "--to", "user@elsewhere.example"]);
    expect(refused.out).toMatch(/^<\*\* {1,2}550 5\.7\.1 Relaying denied$/m);
    expect(refused.code).not.toBe(0);
  });

  it("STARTTLS", async () => {
    const r = await swaks(edge.port, ["--from", "sender@example.org", "--to", "user@localhost", "--tls"]);
    expect(r.out).toMatch(/^<- {2}220 2\.0\.0 Ready to start TLS$/m);
    expect(r.out).toMatch(/^=== TLS started with cipher TLSv1\.[23]:/m);
    expect(r.code).toBe(0);
    const record = await reader.record(swaksId(r.out));
    expect(record.client?.protocol).toBe("esmtps");
    expect(record.client?.tlsCipher).toMatch(/^TLSv1\.[23]:/);
  });

  it("PIPELINING: MAIL, RCPTs and DATA in one group", async () => {
    const r = await swaks(edge.port, ["--from", "sender@example.org", "--to", "a@localhost,b@localhost,c@elsewhere.example", "--pipeline"]);
    expect(r.out).toMatch(/^<- {2}250-PIPELINING$/m);
    // one write: the client lines follow each other with no reply between them
    expect(r.out).toMatch(/^ -> MAIL FROM:<sender@example\.org>\n -> RCPT TO:<a@localhost>\n -> RCPT TO:<b@localhost>\n -> RCPT TO:<c@elsewhere\.example>\n -> DATA$/m);
    expect(r.out).toMatch(/^<\*\* {1,2}550 5\.7\.1 Relaying denied$/m);
    const record = await reader.record(swaksId(r.out));
    expect(record.recipients.map((x) => x.address)).toEqual(["a@localhost", "b@localhost"]);
  });

  it.each([
    ["PLAIN", "alice", "wonderland"],
    ["LOGIN", "bob", "builder"], // bob's hash is in Redis (auth_redis_hash)
  ])("AUTH %s on the submission listener: relays for the authenticated user only", async (mech, user, password) => {
    const base = ["--from", `${user}@example.org`, "--to", "friend@remote.example", "--tls", "--auth", mech, "--auth-user", user];
    const r = await swaks(submission, [...base, "--auth-password", password]);
    expect(r.out).toMatch(/^<~ {2}235 2\.7\.0 Authentication successful$/m);
    expect(r.code).toBe(0);
    const record = await reader.record(swaksId(r.out));
    expect(record.client).toMatchObject({ protocol: "esmtpsa", authenticatedId: user });
    expect(record.recipients[0]?.address).toBe("friend@remote.example");

    const bad = await swaks(submission, [...base, "--auth-password", `${password}x`]);
    expect(bad.out).toMatch(/^<~\* {1,2}535 5\.7\.8 /m);
    expect(bad.out).not.toMatch(/ 250 2\.0\.0 OK id=/);
    expect(bad.code).not.toBe(0);
  });

  it("AUTH is not offered on port 25 and not before STARTTLS on the submission port", async () => {
    const onMx = await swaks(edge.port, ["--from", "a@example.org", "--to", "user@localhost", "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wonderland"]);
    expect(onMx.out).not.toMatch(/250-AUTH/);
    expect(onMx.code).not.toBe(0);
    const plaintext = await swaks(submission, ["--from", "a@example.org", "--to", "user@localhost", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wonderland"]);
    expect(plaintext.out).not.toMatch(/^<- {2}235 /m);
    expect(plaintext.code).not.toBe(0);
  });

  it("SMTPUTF8: a UTF-8 address is refused without the parameter and accepted with it", async () => {
    const without = await swaks(edge.port, ["--from", "δοκιμή@example.org", "--to", "user@localhost"]);
    expect(without.out).toMatch(/^<\*\* {1,2}553 5\.6\.7 /m);
    // swaks writes "MAIL FROM:<$from>"; the closing ">" lands at the end of ENVID's xtext, which allows it
    const r = await swaks(edge.port, ["--from", "δοκιμή@example.org> SMTPUTF8 ENVID=swaks", "--to", "χρήστης@localhost", "--header", "Subject: Grüße"]);
    expect(r.out).toMatch(/^<- {2}250-SMTPUTF8$/m);
    expect(r.code).toBe(0);
    const record = await reader.record(swaksId(r.out));
    expect(record).toMatchObject({ sender: "δοκιμή@example.org", smtputf8: true, recipients: [{ address: "χρήστης@localhost" }] });
    const body = record.body?.location?.$case === "inline" ? Buffer.from(record.body.location.value).toString("utf8") : "";
    expect(body).toMatch(/ with UTF8SMTP id /);
  });

  it("a 20 MB message is accepted and spooled whole", async () => {
    const r = await swaks(edge.port, ["--from", "sender@example.org", "--to", "user@localhost", "--body", `@${join(dir, "20mb.txt")}`, "--suppress-data"]);
    expect(r.code).toBe(0);
    const id = swaksId(r.out);
    const record = await reader.record(id);
    expect(Number(record.body?.size)).toBeGreaterThan(20 * MB);
    expect(record.body?.location).toEqual({ $case: "spoolObject", value: id });
    const blob = await (await openSpool(reader.bus)).getBlob(id);
    expect(blob?.length).toBe(Number(record.body?.size));
  }, 180_000);

  it("a message over message_size_limit gets 552 5.3.4 and nothing is stored", async () => {
    const before = edge.logs.lines.filter((l) => l.event === "msg.received").length;
    const r = await swaks(edge.port, ["--from", "sender@example.org", "--to", "user@localhost", "--body", `@${join(dir, "23mb.txt")}`, "--suppress-data"]);
    expect(r.out).toMatch(/^<- {2}250-SIZE 23068672$/m);
    expect(r.out).toMatch(/^<\*\* {1,2}552 5\.3\.4 Message size exceeds fixed limit$/m);
    expect(r.out).toMatch(/^<- {2}221 2\.0\.0 Bye$/m); // the session stayed in sync
    expect(r.code).not.toBe(0);
    expect(edge.logs.lines.filter((l) => l.event === "msg.received")).toHaveLength(before);
    expect(edge.logs.lines.find((l) => l.event === "msg.rejected")).toMatchObject({ reason: "size" });
  }, 180_000);

  // swaks has no BDAT: a scripted client, the way a CHUNKING client (Exchange, Postfix with a large message) sends
  it("BDAT (scripted client; swaks cannot): chunks pipelined, then BDAT LAST", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      const [, ehlo] = await c.greet("bdat.test");
      expect(ehlo).toContain("250-CHUNKING\r\n");
      const part1 = "Subject: chunked\r\n\r\nfirst ";
      const part2 = "second\r\n";
      c.send(`MAIL FROM:<sender@example.org> BODY=8BITMIME\r\nRCPT TO:<user@localhost>\r\nBDAT ${Buffer.byteLength(part1)}\r\n${part1}BDAT ${Buffer.byteLength(part2)} LAST\r\n${part2}`);
      const replies = await c.read(4);
      expect(replies.map((x) => x.slice(0, 9))).toEqual(["250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0"]);
      const record = await reader.record(idOf(replies[3]));
      const body = record.body?.location?.$case === "inline" ? Buffer.from(record.body.location.value).toString("latin1") : "";
      expect(body.endsWith("Subject: chunked\r\n\r\nfirst second\r\n")).toBe(true);
      expect(await c.command("QUIT")).toMatch(/^221 /);
    } finally {
      c.close();
    }
  });
});
