import { replies } from "./replies";
import { SmtpServerSession } from "./session";
import { b64, drive, type Read, splitters, TLS } from "./testing/driver";
import { type SessionOptions, type SmtpEvent } from "./types";

const base: SessionOptions = { hostname: "mx.test", maxMessageSize: 1000, maxErrors: 10, tlsAvailable: true, auth: true };
const ehlo = "EHLO client.example\r\n";
const mail = "MAIL FROM:<a@example.org>\r\n";
const plain = (authz: string, user: string, pass: string): string => b64(`${authz}\u0000${user}\u0000${pass}`);
const good = plain("", "user", "secret");

interface Case {
  name: string;
  reads: Read[];
  options?: Partial<SessionOptions>;
  /** replies after the banner */
  wantReplies: string[];
  wantClosed?: boolean;
  /** discarded plaintext per tlsStarted() */
  wantDiscarded?: number[];
  wantAuthenticated?: boolean;
}

const tlsCases: Case[] = [
  { name: "STARTTLS, then EHLO over TLS", reads: [`${ehlo}STARTTLS\r\n`, TLS, `${ehlo}${mail}`], wantReplies: ["250", "220 2.0.0", "250", "250 2.1.0"], wantDiscarded: [0] },
  {
    name: "plaintext after STARTTLS is discarded (CVE-2011-0411)",
    reads: [`${ehlo}STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n`, TLS, mail],
    wantReplies: ["250", "220 2.0.0", "503 5.5.1"],
    wantDiscarded: [28],
  },
  { name: "TLS forgets the EHLO", reads: [`${ehlo}STARTTLS\r\n`, TLS, mail, ehlo, mail], wantReplies: ["250", "220 2.0.0", "503 5.5.1", "250", "250 2.1.0"] },
  { name: "STARTTLS with an argument: 501", reads: [`${ehlo}STARTTLS now\r\n`], wantReplies: ["250", "501 5.5.2"] },
  { name: "STARTTLS when TLS is active: 503", reads: [`${ehlo}STARTTLS\r\n`, TLS, `${ehlo}STARTTLS\r\n`], wantReplies: ["250", "220 2.0.0", "250", "503 5.5.1"] },
  { name: "STARTTLS on a TLS-on-connect session: 503", reads: [`${ehlo}STARTTLS\r\n`], options: { tlsAvailable: false, tlsActive: true }, wantReplies: ["250", "503 5.5.1"] },
  { name: "STARTTLS before EHLO: 503", reads: ["STARTTLS\r\nHELO x\r\nSTARTTLS\r\n"], wantReplies: ["503 5.5.1", "250", "503 5.5.1"] },
  { name: "STARTTLS in a transaction: 503", reads: [`${ehlo}${mail}STARTTLS\r\n`], wantReplies: ["250", "250 2.1.0", "503 5.5.1"] },
  { name: "STARTTLS not offered: 502", reads: [`${ehlo}STARTTLS\r\n`], options: { tlsAvailable: false }, wantReplies: ["250", "502 5.5.1"] },
  {
    name: "requireTls: 530 before STARTTLS, fine after",
    reads: [`${ehlo}${mail}VRFY x\r\nRSET\r\nNOOP\r\nSTARTTLS\r\n`, TLS, `${ehlo}${mail}`],
    options: { requireTls: true },
    wantReplies: ["250", "530 5.7.0", "530 5.7.0", "250 2.0.0", "250 2.0.0", "220 2.0.0", "250", "250 2.1.0"],
  },
  { name: "requireTls: BDAT gets 530 and its chunk is skipped", reads: [`${ehlo}BDAT 6\r\nQUIT\r\nNOOP\r\n`], options: { requireTls: true }, wantReplies: ["250", "530 5.7.0", "250 2.0.0"] },
  { name: "requireTls: AUTH gets 530", reads: [`${ehlo}AUTH PLAIN ${good}\r\n`], options: { requireTls: true, allowInsecureAuth: true }, wantReplies: ["250", "530 5.7.0"] },
];

const authCases: Case[] = [
  { name: "PLAIN with an initial response", reads: [`${ehlo}AUTH PLAIN ${good}\r\n`], wantReplies: ["250", "235 2.7.0"], wantAuthenticated: true },
  { name: "PLAIN with a 334 challenge", reads: [`${ehlo}AUTH PLAIN\r\n`, `${good}\r\n`], wantReplies: ["250", "334", "235 2.7.0"], wantAuthenticated: true },
  { name: "PLAIN with an authzid", reads: [`${ehlo}AUTH plain ${plain("admin", "user", "secret")}\r\n`], wantReplies: ["250", "235 2.7.0"], wantAuthenticated: true },
  { name: "LOGIN", reads: [`${ehlo}AUTH LOGIN\r\n`, `${b64("user")}\r\n`, `${b64("secret")}\r\n`], wantReplies: ["250", "334", "334", "235 2.7.0"], wantAuthenticated: true },
  { name: "LOGIN with the username as initial response", reads: [`${ehlo}AUTH LOGIN ${b64("user")}\r\n`, `${b64("secret")}\r\n`], wantReplies: ["250", "334", "235 2.7.0"], wantAuthenticated: true },
  { name: "wrong password: 535", reads: [`${ehlo}AUTH PLAIN ${plain("", "user", "guess")}\r\n`], wantReplies: ["250", "535 5.7.8"], wantAuthenticated: false },
  { name: "temporary failure: 454", reads: [`${ehlo}AUTH PLAIN ${plain("", "temp", "x")}\r\n`], wantReplies: ["250", "454 4.7.0"] },
  { name: "bad base64 initial response: 501 5.5.2", reads: [`${ehlo}AUTH PLAIN !!!!\r\n`], wantReplies: ["250", "501 5.5.2"] },
  { name: "bad base64 in the exchange: 501 5.5.2", reads: [`${ehlo}AUTH PLAIN\r\nabc\r\nNOOP\r\n`], wantReplies: ["250", "334", "501 5.5.2", "250 2.0.0"] },
  { name: "PLAIN with two fields: 501", reads: [`${ehlo}AUTH PLAIN ${b64("user\u0000secret")}\r\n`], wantReplies: ["250", "501 5.5.2"] },
  { name: "empty initial response (=): 501", reads: [`${ehlo}AUTH PLAIN =\r\n`], wantReplies: ["250", "501 5.5.2"] },
  { name: "* cancels: 501 5.0.0", reads: [`${ehlo}AUTH LOGIN\r\n*\r\nNOOP\r\n`], wantReplies: ["250", "334", "501 5.0.0", "250 2.0.0"] },
  { name: "* cancels the password step", reads: [`${ehlo}AUTH LOGIN ${b64("user")}\r\n*\r\n`], wantReplies: ["250", "334", "501 5.0.0"], wantAuthenticated: false },
  { name: "AUTH again after success: 503", reads: [`${ehlo}AUTH PLAIN ${good}\r\nAUTH PLAIN ${good}\r\n`], wantReplies: ["250", "235 2.7.0", "503 5.5.1"], wantAuthenticated: true },
  { name: "AUTH in a transaction: 503", reads: [`${ehlo}${mail}AUTH PLAIN ${good}\r\n`], wantReplies: ["250", "250 2.1.0", "503 5.5.1"] },
  { name: "unknown mechanism: 504", reads: [`${ehlo}AUTH CRAM-MD5\r\n`], wantReplies: ["250", "504 5.5.4"] },
  { name: "mechanism switched off: 504", reads: [`${ehlo}AUTH LOGIN\r\n`], options: { authMechanisms: ["PLAIN"] }, wantReplies: ["250", "504 5.5.4"] },
  { name: "AUTH without a mechanism: 501", reads: [`${ehlo}AUTH\r\nAUTH PLAIN a b\r\n`], wantReplies: ["250", "501 5.5.2", "501 5.5.2"] },
  { name: "AUTH before EHLO, after HELO: 503", reads: [`AUTH PLAIN ${good}\r\nHELO x\r\nAUTH PLAIN ${good}\r\n`], wantReplies: ["503 5.5.1", "250", "503 5.5.1"] },
  { name: "AUTH not enabled: 502", reads: [`${ehlo}AUTH PLAIN ${good}\r\n`], options: { auth: false }, wantReplies: ["250", "502 5.5.1"] },
  { name: "AUTH without TLS: 538", reads: [`${ehlo}AUTH PLAIN ${good}\r\n`], options: { tlsActive: false }, wantReplies: ["250", "538 5.7.11"] },
  { name: "AUTH after STARTTLS", reads: [`${ehlo}STARTTLS\r\n`, TLS, `${ehlo}AUTH PLAIN ${good}\r\n`], options: { tlsActive: false }, wantReplies: ["250", "220 2.0.0", "250", "235 2.7.0"], wantAuthenticated: true },
  { name: "allowInsecureAuth: AUTH without TLS", reads: [`${ehlo}AUTH PLAIN ${good}\r\n`], options: { tlsActive: false, allowInsecureAuth: true }, wantReplies: ["250", "235 2.7.0"] },
  {
    name: "a 10 kB initial response fits the 12288-octet AUTH line",
    reads: [`${ehlo}AUTH PLAIN ${plain("", "user", `secret${"x".repeat(7000)}`)}\r\n`],
    wantReplies: ["250", "235 2.7.0"],
  },
  { name: "an AUTH line over 12288 octets: 500, in sync", reads: [`${ehlo}AUTH PLAIN ${"QUFB".repeat(3100)}\r\nNOOP\r\n`], wantReplies: ["250", "500 5.5.2", "250 2.0.0"] },
  { name: "an exchange line over 12288 octets: 500 5.5.6", reads: [`${ehlo}AUTH PLAIN\r\n${"QUFB".repeat(3100)}\r\nNOOP\r\n`], wantReplies: ["250", "334", "500 5.5.6", "250 2.0.0"] },
  { name: "other commands keep the 512-octet limit", reads: [`${ehlo}NOOP ${"x".repeat(600)}\r\n`], wantReplies: ["250", "500 5.5.2"] },
  {
    name: "failed AUTH counts toward maxErrors",
    reads: [`${ehlo}AUTH PLAIN ${plain("", "user", "a")}\r\nAUTH PLAIN ${plain("", "user", "b")}\r\nAUTH PLAIN ${plain("", "user", "c")}\r\nNOOP\r\n`],
    options: { maxErrors: 3 },
    wantReplies: ["250", "535 5.7.8", "535 5.7.8", "535 5.7.8", "421 4.7.0"],
    wantClosed: true,
  },
];

const limitCases: Case[] = [
  {
    name: "unknown, syntax, sequence, not implemented and bad bytes all count",
    reads: [`${ehlo}FOO\r\nRSET x\r\nRCPT TO:<a@b>\r\nEXPN x\r\nNOOP \u0001\r\nDATA\r\nNOOP\r\n`],
    options: { maxErrors: 6 },
    wantReplies: ["250", "500 5.5.2", "501 5.5.2", "503 5.5.1", "502 5.5.1", "500 5.5.2", "421 4.7.0"],
    wantClosed: true,
  },
  { name: "530 counts", reads: [`${ehlo}${mail}${mail}NOOP\r\n`], options: { maxErrors: 2, requireTls: true }, wantReplies: ["250", "530 5.7.0", "421 4.7.0"], wantClosed: true },
  {
    name: "refused BDAT and bad AUTH data count",
    reads: [`${ehlo}BDAT 1\r\nxAUTH PLAIN !\r\nAUTH LOGIN\r\n*\r\nNOOP\r\n`],
    options: { maxErrors: 3, tlsActive: true },
    wantReplies: ["250", "503 5.5.1", "501 5.5.2", "334", "421 4.7.0"],
    wantClosed: true,
  },
  {
    name: "limits and policy do not count",
    reads: [`${ehlo}${mail}RCPT TO:<a@reject.example>\r\n${"RCPT TO:<r@example.org>\r\n".repeat(3)}NOOP\r\n`],
    options: { maxErrors: 2, maxRecipients: 2 },
    wantReplies: ["250", "250 2.1.0", "550 5.7.1", "250 2.1.5", "250 2.1.5", "452 4.5.3", "250 2.0.0"],
  },
];

const tables: [string, Case[]][] = [
  ["STARTTLS (RFC 3207)", tlsCases],
  ["AUTH (RFC 4954)", authCases.map((c) => ({ ...c, options: { tlsActive: true, ...c.options } }))],
  ["error limit", limitCases],
];

for (const [title, cases] of tables) {
  describe(title, () => {
    for (const [split, fn] of splitters) {
      describe(split, () => {
        test.each(cases)("$name", (c) => {
          const got = drive(c.reads, { ...base, ...c.options }, { split: fn });
          expect(got.replies.slice(1)).toEqual(c.wantReplies);
          expect(got.closed).toBe(c.wantClosed ?? false);
          if (c.wantDiscarded !== undefined) expect(got.tls.map((t) => t.discardedBytes)).toEqual(c.wantDiscarded);
          if (c.wantAuthenticated !== undefined) expect(got.authenticated).toBe(c.wantAuthenticated);
        });
      });
    }
  });
}

describe("STARTTLS and AUTH API", () => {
  const events = (s: SmtpServerSession, input: string): SmtpEvent[] => {
    s.feed(Buffer.from(input));
    const out: SmtpEvent[] = [];
    for (let ev = s.next(); ev !== null; ev = s.next()) out.push(ev);
    return out;
  };

  test("EHLO lists STARTTLS before TLS and AUTH after it", () => {
    const s = new SmtpServerSession({ ...base, maxMessageSize: 1000 });
    events(s, ehlo);
    expect(s.takeOutput()).toBe(
      "250-mx.test\r\n250-STARTTLS\r\n250-CHUNKING\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n",
    );
    expect(events(s, "STARTTLS\r\n")).toEqual([{ type: "starttls" }]);
    expect(s.tlsPending).toBe(false);
    s.respond(replies.readyToStartTls);
    expect(s.tlsPending).toBe(true);
    expect(s.next()).toBeNull();
    expect(s.takeOutput()).toBe("220 2.0.0 Ready to start TLS\r\n");
    expect(s.tlsStarted()).toEqual({ discardedBytes: 0, discarded: "" });
    expect(s.tls).toBe(true);
    expect(s.tlsPending).toBe(false);
    events(s, ehlo);
    expect(s.takeOutput()).toContain("250-AUTH PLAIN LOGIN\r\n");
    expect(s.takeOutput()).not.toContain("STARTTLS");
  });

  test("plaintext fed during the handshake is dropped and reported escaped", () => {
    const s = new SmtpServerSession(base);
    events(s, `${ehlo}STARTTLS\r\nRSET\r\n`);
    s.respond(replies.readyToStartTls);
    s.feed(Buffer.from("\u0016\u0003\u0001"));
    expect(s.bufferedBytes).toBe(6);
    expect(s.next()).toBeNull();
    expect(s.tlsStarted()).toEqual({ discardedBytes: 9, discarded: "RSET\\x0d\\x0a\\x16\\x03\\x01" });
    expect(s.bufferedBytes).toBe(0);
    expect(() => s.tlsStarted()).toThrow(/without an accepted STARTTLS/);
  });

  test("a refused STARTTLS (454) keeps the plaintext session", () => {
    const s = new SmtpServerSession(base);
    events(s, `${ehlo}STARTTLS\r\n`);
    expect(() => s.respond(replies.ok)).toThrow(/does not answer starttls/);
    s.respond(replies.tlsNotAvailable);
    expect(events(s, mail)[0]?.type).toBe("mail");
    expect(s.tls).toBe(false);
  });

  test("auth event, identity, and MAIL AUTH= only trusted when authenticated", () => {
    const s = new SmtpServerSession({ ...base, tlsActive: true });
    events(s, ehlo);
    events(s, "MAIL FROM:<a@b.example> AUTH=someone+40x.example\r\n");
    s.respond(replies.senderOk);
    expect(s.transaction?.mail.params.auth).toBe("<>");
    events(s, "RSET\r\n");
    const [ev] = events(s, `AUTH PLAIN ${plain("boss", "user", "secret")}\r\n`);
    expect(ev).toEqual({ type: "auth", mechanism: "PLAIN", authzid: "boss", username: "user", password: "secret" });
    expect(s.awaiting).toBe("auth");
    expect(() => s.respond(replies.ok)).toThrow(/does not answer auth/);
    s.respond(replies.authSuccessful);
    expect(s.authenticated).toBe(true);
    expect(s.authIdentity).toEqual({ mechanism: "PLAIN", username: "user", authzid: "boss" });
    events(s, "MAIL FROM:<a@b.example> AUTH=someone+40x.example\r\n");
    expect(s.awaiting).toBe("mail");
    s.respond(replies.senderOk);
    expect(s.transaction?.mail.params.auth).toBe("someone@x.example");
  });

  test("AUTH= is unknown when AUTH is not offered; malformed AUTH= is 501", () => {
    const s = new SmtpServerSession({ ...base, auth: false });
    events(s, `${ehlo}MAIL FROM:<a@b.example> AUTH=<>\r\n`);
    expect(s.takeOutput()).toContain("555 5.5.4 Unsupported option: AUTH\r\n");
    const t = new SmtpServerSession({ ...base, tlsActive: true });
    events(t, `${ehlo}MAIL FROM:<a@b.example> AUTH=a+zz\r\n`);
    expect(t.takeOutput()).toContain("501 5.5.4 Bad AUTH parameter\r\n");
  });

  test("credentials never appear in error events", () => {
    const secret = plain("", "user", "hunter2");
    const input = `${ehlo}${mail}AUTH PLAIN ${secret}\r\nRSET\r\nAUTH LOGIN\r\n${"A".repeat(13000)}\r\nAUTH PLAIN ${secret}x\r\n`;
    const evs = drive([input], { ...base, tlsActive: true }).events;
    const lines = evs.flatMap((e) => (e.type === "error" ? [e.line] : []));
    expect(lines).toEqual(["AUTH PLAIN", "AUTH LOGIN (exchange)", "AUTH PLAIN"]);
    expect(JSON.stringify(evs)).not.toContain(secret.slice(0, 8));
  });

  test("the 334 challenges are exact", () => {
    const s = new SmtpServerSession({ ...base, tlsActive: true });
    events(s, ehlo);
    s.takeOutput();
    events(s, "AUTH PLAIN\r\n");
    expect(s.takeOutput()).toBe("334 \r\n");
    events(s, "*\r\nAUTH LOGIN\r\n");
    expect(s.takeOutput()).toBe("501 5.0.0 Authentication cancelled\r\n334 VXNlcm5hbWU6\r\n");
    events(s, `${b64("user")}\r\n`);
    expect(s.takeOutput()).toBe("334 UGFzc3dvcmQ6\r\n");
  });

  test.each([
    [{ requireTls: true, tlsAvailable: false }, "requireTls"],
    [{ authMechanisms: [] }, "authMechanisms"],
    [{ maxAuthLine: 100 }, "maxAuthLine"],
    [{ extensions: { chunking: false, binaryMime: true } }, "extensions.binaryMime"],
  ])("invalid options %p throw SmtpOptionsError", (o, option) => {
    expect(() => new SmtpServerSession({ ...base, ...o })).toThrow(expect.objectContaining({ name: "SmtpOptionsError", option }) as Error);
  });
});
