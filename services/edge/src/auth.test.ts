import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { codecs, streamNames, subjects } from "@postern/bus";
import { type Backend, freePort, startNats, startRedis } from "@postern/testing";
import { Redis } from "ioredis";
import { createAuthenticator } from "./auth";
import { hashPassword, parsePasswordFile, parsePasswordHash, PasswordFile, verifyPassword } from "./passwords";
import { idOf, MailReader, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

const plain = (user: string, password: string): string => Buffer.from(`\0${user}\0${password}`).toString("base64");
const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("password hashes", () => {
  it("round-trips hashPassword through verifyPassword", async () => {
    const h = await hashPassword("s3cret ü");
    expect(h).toMatch(/^\$scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(parsePasswordHash(h)).toMatchObject({ N: 16384, r: 8, p: 1 });
    expect(await verifyPassword("s3cret ü", h)).toBe(true);
    expect(await verifyPassword("s3cret u", h)).toBe(false);
    expect(await hashPassword("s3cret ü")).not.toBe(h); // a fresh salt each time
  });

  it.each([
    ["", "empty"],
    ["$scrypt$16384$8$1$c2FsdHNhbHQ=", "missing hash"],
    ["$scrypt$1000$8$1$c2FsdHNhbHQ=$MDEyMzQ1Njc4OWFiY2RlZg==", "N not a power of two"],
    ["$scrypt$16384$0$1$c2FsdHNhbHQ=$MDEyMzQ1Njc4OWFiY2RlZg==", "r = 0"],
    ["$scrypt$16384$8$1$c2FsdA==$MDEyMzQ1Njc4OWFiY2RlZg==", "salt under 8 octets"],
    ["$bcrypt$16384$8$1$c2FsdHNhbHQ=$MDEyMzQ1Njc4OWFiY2RlZg==", "another scheme"],
    ["$scrypt$16384$8$1$c2Fs!HNhbHQ=$MDEyMzQ1Njc4OWFiY2RlZg==", "not base64"],
  ])("refuses a malformed hash (%p: %s)", async (h) => {
    expect(parsePasswordHash(h)).toBeNull();
    expect(await verifyPassword("", h)).toBe(false);
  });

  it("parses user:hash lines, skipping blanks and comments", () => {
    expect([...parsePasswordFile("# users\n\nalice:$scrypt$x\n bob:$scrypt$y \nnocolon\n:nouser\n")]).toEqual([
      ["alice", "$scrypt$x"],
      ["bob", "$scrypt$y"],
    ]);
  });

  it("checks the file first, then Redis; a Redis failure is a temporary failure", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-auth-"));
    try {
      const path = join(dir, "passwd");
      writeFileSync(path, `alice:${await hashPassword("a")}\n`);
      const bobHash = await hashPassword("b");
      let redisUp = true;
      const auth = createAuthenticator({
        file: new PasswordFile(path),
        redis: { key: "k", hget: (_k, user) => (redisUp ? Promise.resolve(user === "bob" ? bobHash : null) : Promise.reject(new Error("down"))) },
      });
      expect(await auth("alice", "a")).toBe("ok");
      expect(await auth("alice", "b")).toBe("invalid");
      expect(await auth("bob", "b")).toBe("ok");
      expect(await auth("carol", "c")).toBe("invalid");
      redisUp = false;
      expect(await auth("alice", "a")).toBe("ok");
      expect(await auth("bob", "b")).toBe("tempfail");
      writeFileSync(`${path}.new`, `alice:${await hashPassword("new")}\n`);
      renameSync(`${path}.new`, path); // re-read when it changes
      expect(await auth("alice", "new")).toBe("ok");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("edge: AUTH on the submission listener", () => {
  let nats: Backend;
  let redis: Backend;
  let dir: string;
  let edge: TestEdge;
  let port: number;
  let reader: MailReader;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-edge-auth-"));
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=edge.test", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")],
      { stdio: "ignore" },
    );
    writeFileSync(join(dir, "passwd"), `# submission users\nalice:${await hashPassword("wonderland")}\n`);
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const r = new Redis(redis.url);
    await r.hset("postern:auth", "bob", await hashPassword("builder"));
    r.disconnect();
    port = await freePort();
    edge = await startTestEdge(nats, {
      tls_certificate: join(dir, "c.pem"),
      tls_privatekey: join(dir, "k.pem"),
      submission_listen: [`127.0.0.1:${port}`],
      auth_passwords_file: join(dir, "passwd"),
      redis_servers: [redis.url],
      auth_redis_hash: "postern:auth",
      relay_from_hosts: [], // 127.0.0.1 may not relay without AUTH
    });
    reader = await MailReader.open(nats);
  });

  afterAll(async () => {
    await reader?.close();
    await edge?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  async function overTls(): Promise<SmtpTestClient> {
    const c = await SmtpTestClient.open(port);
    await c.greet();
    const { client } = await c.startTls();
    expect(await client.command("EHLO client.test")).toMatch(/250-AUTH PLAIN LOGIN\r\n/);
    return client;
  }

  it("offers no AUTH and refuses AUTH and MAIL before TLS", async () => {
    const c = await SmtpTestClient.open(port);
    try {
      const [, ehlo] = await c.greet();
      expect(ehlo).toContain("250-STARTTLS");
      expect(ehlo).not.toContain("AUTH");
      expect(await c.command(`AUTH PLAIN ${plain("alice", "wonderland")}`)).toMatch(/^(530 5\.7\.0|538 5\.7\.11) /);
      expect(await c.command("MAIL FROM:<alice@example.org>")).toMatch(/^530 5\.7\.0 /);
    } finally {
      c.close();
    }
  });

  it("the port-25 listener offers no AUTH even over TLS", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      await c.greet();
      const { client } = await c.startTls();
      expect(await client.command("EHLO client.test")).not.toContain("AUTH");
      client.close();
    } finally {
      c.close();
    }
  });

  it("answers a wrong password 535 and publishes auth:fail with the user and the client ip, never the password", async () => {
    const c = await overTls();
    try {
      expect(await c.command(`AUTH PLAIN ${plain("alice", "looking-glass")}`)).toMatch(/^535 5\.7\.8 /);
      expect(await c.command("MAIL FROM:<alice@example.org>")).toMatch(/^530 5\.7\.0 Authentication required/);
    } finally {
      c.close();
    }
    let event;
    for (let i = 0; i < 50 && event === undefined; i++) {
      const m = await reader.bus.jsm.streams.getMessage(streamNames.events, { last_by_subj: subjects.event("auth:fail") }).catch(() => null);
      if (m !== null) event = codecs.event.decode(m.data);
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(event?.attributes).toMatchObject({ user: "alice", client_ip: "127.0.0.1", mechanism: "PLAIN" });
    expect(JSON.stringify(event)).not.toContain("looking-glass");
    expect(JSON.stringify(edge.logs.lines)).not.toContain("looking-glass");
    expect(edge.logs.lines.some((l) => l.event === "auth.failed" && l.user === "alice")).toBe(true);
  });

  it("lets a client authenticated with PLAIN relay to a remote domain (P=esmtpsa)", async () => {
    const c = await overTls();
    try {
      expect(await c.command(`AUTH PLAIN ${plain("alice", "wonderland")}`)).toMatch(/^235 2\.7\.0 /);
      c.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<someone@remote.example>\r\nDATA\r\n");
      expect((await c.read(3)).map((r) => r.slice(0, 3))).toEqual(["250", "250", "354"]);
      c.send("Subject: submitted\r\n\r\nhi\r\n.\r\n");
      const id = idOf((await c.read(1))[0]);
      const r = await reader.record(id);
      expect(r.client).toMatchObject({ protocol: "esmtpsa", authenticatedId: "alice" });
      expect(r.recipients.map((x) => x.address)).toEqual(["someone@remote.example"]);
      const line = edge.logs.lines.find((l) => l.event === "msg.received" && l.message_id === id);
      expect(line?.msg).toMatch(/ P=esmtpsa X=TLSv1\.[23]:\S+ A=alice S=/);
    } finally {
      c.close();
    }
  });

  it("takes LOGIN with credentials from the Redis hash", async () => {
    const c = await overTls();
    try {
      expect(await c.command("AUTH LOGIN")).toMatch(/^334 /);
      expect(await c.command(b64("bob"))).toMatch(/^334 /);
      expect(await c.command(b64("builder"))).toMatch(/^235 /);
      expect(await c.command("MAIL FROM:<bob@example.org>")).toMatch(/^250 /);
      expect(await c.command("RCPT TO:<x@elsewhere.example>")).toMatch(/^250 /);
    } finally {
      c.close();
    }
  });

  it("serves swaks --tls --auth PLAIN", async () => {
    const run = promisify(execFile);
    const args = ["--server", `127.0.0.1:${port}`, "--from", "alice@example.org", "--to", "friend@remote.example", "--tls", "--auth", "PLAIN", "--auth-user", "alice"];
    const { stdout } = await run("swaks", [...args, "--auth-password", "wonderland"], { timeout: 20_000 });
    expect(stdout).toMatch(/<~ {2}235 2\.7\.0 /);
    expect(stdout).toMatch(/<~ {2}250 2\.0\.0 OK id=/);
    const bad = await run("swaks", [...args, "--auth-password", "nope"], { timeout: 20_000 }).then(
      (r) => r.stdout,
      (err: { stdout?: string }) => err.stdout ?? "",
    );
    expect(bad).toMatch(/<~\* {1,2}535 5\.7\.8 /);
  });
});
