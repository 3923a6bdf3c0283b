import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, freePort, startNats, startRedis } from "@postern/testing";
import { Redis } from "ioredis";
import { hashPassword } from "./passwords";
import { hasSenderRouting } from "./policy";
import { swaks } from "./testing/swaks";
import { SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

/**
 * Issue #4 "Done when" 3: relay attempts from a host outside
 * relay_from_hosts, with and without AUTH, get no acceptance for any
 * destination that is not local: plain foreign domains, "%" hacks, "!" bang
 * paths, quoted local parts, source routes, case and trailing-dot variants,
 * IP literals. policy.test.ts covers list semantics and Redis; this file is
 * the attacker's view, through a raw client and through swaks.
 */

/** Recipients that must never get a 2xx from a stranger: [address as sent in RCPT TO, why]. */
const attempts: Array<[string, string]> = [
  ["<user@elsewhere.example>", "a foreign domain"],
  ["<user@ELSEWHERE.Example>", "a foreign domain in mixed case"],
  ["<user@elsewhere.example.>", "a foreign domain with a trailing dot"],
  ["<user@localhost.>", "a local domain with a trailing dot (not the same name to the lists)"],
  ["<user@localhost.elsewhere.example>", "a local domain as a prefix"],
  ["<user@elsewhere-localhost>", "a local domain as a suffix"],
  ["<user%elsewhere.example@localhost>", "% hack through a local domain"],
  ["<user%elsewhere.example@LocalHost>", "% hack through a local domain in mixed case"],
  ["<user%elsewhere.example%localhost@localhost>", "double % hack"],
  ["<user%elsewhere.example@[127.0.0.1]>", "% hack through our IP literal"],
  ["<elsewhere.example!user@localhost>", "bang path through a local domain"],
  ["<elsewhere.example!user>", "bang path without a domain"],
  ["<host1!host2!user@localhost>", "two-hop bang path"],
  ['<"user@elsewhere.example"@localhost>', "quoted @ in the local part"],
  ['<"user%elsewhere.example"@localhost>', "quoted % in the local part"],
  ['<"user@elsewhere.example">', "quoted address without a domain"],
  ["<@localhost:user@elsewhere.example>", "source route via a local domain"],
  ["<@localhost,@relay.example:user@elsewhere.example>", "two-hop source route"],
  ["<user@elsewhere.example@localhost>", "two @"],
  ["<user@[127.0.0.1]>", "our own IPv4 literal"],
  ["<user@[192.0.2.1]>", "a foreign IPv4 literal"],
  ["<user@[IPv6:::1]>", "our own IPv6 literal"],
  ["<user@[IPv6:2001:db8::1]>", "a foreign IPv6 literal"],
  ["<user@localhost\\@elsewhere.example>", "an escaped @ outside quotes"],
  ["user@elsewhere.example", "no angle brackets"],
  ["<user@elsewhere.example> NOTIFY=NEVER", "a foreign domain with a DSN parameter"],
];

/** Local recipients that a stranger may use: the same session must still accept them. */
const local = ["<user@localhost>", "<user@LOCALHOST>", "<Postmaster>", "<postmaster@localhost>"];

describe("hasSenderRouting", () => {
  test.each([
    ["user", false],
    ["first.last+tag", false],
    ["user%other.example", true],
    ["other.example!user", true],
    ['"user@other.example"', true],
    ['"quoted space"', false],
  ])("%p: %p", (localPart, want) => {
    expect(hasSenderRouting(localPart)).toBe(want);
  });
});

describe("open relay: a stranger (not in relay_from_hosts) gets no acceptance for a non-local destination", () => {
  let nats: Backend;
  let redis: Backend;
  let dir: string;
  let edge: TestEdge;
  let submission: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-relay-"));
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=edge.test", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")],
      { stdio: "ignore" },
    );
    writeFileSync(join(dir, "passwd"), `alice:${await hashPassword("wonderland")}\n`);
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const r = new Redis(redis.url);
    await r.sadd("relay_from_ips", "192.0.2.99"); // somebody else; 127.0.0.1 is not in it
    r.disconnect();
    submission = await freePort();
    edge = await startTestEdge(nats, {
      local_domains: ["localhost"],
      relay_to_domains: [],
      relay_from_hosts: ["redis;SMEMBERS relay_from_ips"],
      redis_servers: [redis.url],
      tls_certificate: join(dir, "c.pem"),
      tls_privatekey: join(dir, "k.pem"),
      submission_listen: [`127.0.0.1:${submission}`],
      auth_passwords_file: join(dir, "passwd"),
      smtp_max_errors: 100,
    });
  });

  afterAll(async () => {
    await edge?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** RCPT replies in one session (one command at a time), then DATA's reply. */
  async function session(c: SmtpTestClient, rcpts: string[]): Promise<{ rcpt: string[]; data: string }> {
    expect(await c.command("MAIL FROM:<a@example.org>")).toMatch(/^250 /);
    const rcpt: string[] = [];
    for (const r of rcpts) rcpt.push(await c.command(`RCPT TO:${r}`));
    return { rcpt, data: await c.command("DATA") };
  }

  it("without AUTH: every attempt is refused with a 5xx, local recipients still work", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      await c.greet("stranger.example");
      const got = await session(
        c,
        attempts.map(([a]) => a),
      );
      const refused = got.rcpt.map((r, i) => [attempts[i]?.[1], r.slice(0, 3)]);
      // every reply is a permanent refusal (550 5.7.1 relay, or 501/553/555 syntax): never 2xx, never 4xx to retry
      for (const [why, code] of refused) expect({ why, code: code?.[0] }).toEqual({ why, code: "5" });
      expect(got.data).toMatch(/^554 5\.5\.1 /); // no valid recipients: nothing to send a message to
      expect(await c.command("RSET")).toMatch(/^250 /);
      const ok = await session(c, local);
      expect(ok.rcpt.map((r) => r.slice(0, 9))).toEqual(local.map(() => "250 2.1.5"));
      expect(ok.data).toMatch(/^354 /);
    } finally {
      c.close();
    }
    const denied = edge.logs.lines.filter((l) => l.event === "rcpt.rejected" && l.reason === "relay").map((l) => l.recipient);
    expect(denied).toEqual(expect.arrayContaining(["user%elsewhere.example@localhost", "elsewhere.example!user@localhost", '"user@elsewhere.example"@localhost', "user@elsewhere.example"]));
  });

  it("without AUTH, through swaks: no 250 to any relay attempt", async () => {
    const to = attempts.map(([a]) => a).filter((a) => /^<[^<>]+>$/.test(a) && !a.includes(",")).map((a) => a.slice(1, -1));
    const r = await swaks(edge.port, ["--from", "a@example.org", "--to", to.join(","), "--quit-after", "RCPT"]);
    const rcptReplies = [...r.out.matchAll(/^ -> RCPT TO:<(.*)>\n<(?:-|\*\*) +(\d{3}) /gm)].map((m) => [m[1], m[2]]);
    expect(rcptReplies.length).toBe(to.length);
    for (const [address, code] of rcptReplies) expect({ address, code: code?.[0] }).toEqual({ address, code: "5" });
  });

  it("AUTH is not offered on the MX port: AUTH commands fail and relaying stays closed", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      const [, ehlo] = await c.greet();
      expect(ehlo).not.toMatch(/AUTH/);
      const plain = Buffer.from("\0alice\0wonderland").toString("base64");
      expect(await c.command(`AUTH PLAIN ${plain}`)).toMatch(/^5\d\d /);
      const { client } = await c.startTls();
      expect(await client.command("EHLO stranger.example")).not.toMatch(/AUTH/);
      expect(await client.command(`AUTH PLAIN ${plain}`)).toMatch(/^5\d\d /);
      const got = await session(client, ["<user@elsewhere.example>", "<user%elsewhere.example@localhost>"]);
      expect(got.rcpt.map((r) => r.slice(0, 9))).toEqual(["550 5.7.1", "550 5.7.1"]);
      client.close();
    } finally {
      c.close();
    }
  });

  it("with failed AUTH on the submission port: 535, then no MAIL and no RCPT accepted", async () => {
    const c = await SmtpTestClient.open(submission);
    try {
      await c.greet();
      const { client } = await c.startTls();
      expect(await client.command("EHLO stranger.example")).toMatch(/250-AUTH PLAIN LOGIN/);
      for (const creds of ["\0alice\0guess", "\0mallory\0wonderland", "alice\0alice\0guess"]) {
        expect(await client.command(`AUTH PLAIN ${Buffer.from(creds).toString("base64")}`)).toMatch(/^535 5\.7\.8 /);
      }
      expect(await client.command("AUTH LOGIN")).toMatch(/^334 /);
      expect(await client.command(Buffer.from("alice").toString("base64"))).toMatch(/^334 /);
      expect(await client.command(Buffer.from("nope").toString("base64"))).toMatch(/^535 5\.7\.8 /);
      expect(await client.command("MAIL FROM:<alice@example.org>")).toMatch(/^530 5\.7\.0 /);
      for (const [a] of attempts.slice(0, 8)) expect(await client.command(`RCPT TO:${a}`)).toMatch(/^5\d\d /);
      expect(await client.command("DATA")).toMatch(/^503 /);
      client.close();
    } finally {
      c.close();
    }
  });

  it("with failed AUTH through swaks: 535 and no 250 for a foreign recipient", async () => {
    const r = await swaks(submission, ["--from", "alice@example.org", "--to", "user%elsewhere.example@localhost", "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "guess"]);
    expect(r.out).toMatch(/^<~\* {1,2}535 5\.7\.8 /m);
    expect(r.out).not.toMatch(/^<~ {2}250 2\.1\.5 /m);
    expect(r.code).not.toBe(0);
  });

  it("once authenticated the same user may relay (the limit is trust, not the address forms)", async () => {
    const r = await swaks(submission, ["--from", "alice@example.org", "--to", "friend@elsewhere.example", "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wonderland", "--quit-after", "RCPT"]);
    expect(r.out).toMatch(/^<~ {2}250 2\.1\.5 /m);
  });
});
