import net from "node:net";
import os from "node:os";
import { smtpTransport } from "./smtp-transport";
import { type DeliveryJob, type RcptResult } from "./types";

/** A scripted SMTP server: `answer` maps each command line (or "<END-OF-DATA>") to a reply, "" for none, null to hang up. */
async function scripted(greeting: string | null, answer: (line: string) => string | null): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    let buf = "";
    let inData = false;
    if (greeting !== null) s.write(`${greeting}\r\n`);
    s.on("data", (chunk) => {
      buf += chunk.toString("latin1");
      for (;;) {
        if (inData) {
          // An empty message is "." right after DATA's line end.
          const end = buf.startsWith(".\r\n") ? -2 : buf.indexOf("\r\n.\r\n");
          if (end === -1) return;
          seen.push(`<DATA ${buf.slice(0, Math.max(0, end + 2))}>`);
          buf = buf.slice(end + 5);
          inData = false;
          const r = answer("<END-OF-DATA>");
          if (r === null) return void s.destroy();
          if (r) s.write(`${r}\r\n`);
          continue;
        }
        const nl = buf.indexOf("\r\n");
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        seen.push(line);
        const r = answer(line);
        if (r === null) return void s.destroy();
        if (r) s.write(`${r}\r\n`);
        if (r?.startsWith("354")) inData = true;
      }
    });
    s.on("error", () => s.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    seen,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function job(addresses: string[], extra: Partial<DeliveryJob> = {}): DeliveryJob {
  return {
    messageId: "m1",
    sender: "a@example.org",
    body: Buffer.from("Subject: t\r\n\r\nhi\r\n"),
    smtpUtf8: false,
    bodyType: "",
    dsnRet: undefined,
    dsnEnvid: "",
    recipients: addresses.map((address, pos) => ({ pos, address, localPart: address.split("@")[0] ?? "", domain: "x.test", notify: [] })),
    working: () => undefined,
    ...extra,
  };
}

const basic = (verb: string): string | null => {
  if (verb.startsWith("EHLO")) return "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000";
  if (verb.startsWith("MAIL") || verb.startsWith("RCPT")) return "250 ok";
  if (verb === "DATA") return "354 go";
  if (verb === "<END-OF-DATA>") return "250 2.0.0 queued";
  if (verb === "QUIT") return "221 bye";
  return "500 what";
};

const deliver = (port: number, timeouts = { connectTimeoutMs: 2000, commandTimeoutMs: 2000 }) =>
  smtpTransport({ host: "127.0.0.1", port, lmtp: false, heloName: "client.test", ...timeouts });

describe("smtpTransport against scripted servers", () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it("pipelines MAIL and RCPT when offered and sends SIZE", async () => {
    const s = await scripted("220 mx.test ESMTP", basic);
    servers.push(s);
    const results = await deliver(s.port)(job(["b@x.test", "c@x.test"]));
    expect(results.map((r) => r.status)).toEqual(["delivered", "delivered"]);
    expect(s.seen.slice(0, 4)).toEqual(["EHLO client.test", "MAIL FROM:<a@example.org> SIZE=18", "RCPT TO:<b@x.test>", "RCPT TO:<c@x.test>"]);
    expect(results[0]).toMatchObject({ confirmation: "250 2.0.0 queued", host: { ip: "127.0.0.1", port: s.port, name: "127.0.0.1" } });
  });

  it("falls back to HELO after a 5xx to EHLO", async () => {
    const s = await scripted("220 old.test", (l) => (l.startsWith("EHLO") ? "502 no" : l.startsWith("HELO") ? "250 old.test" : basic(l)));
    servers.push(s);
    const results = await deliver(s.port)(job(["b@x.test"]));
    expect(results[0]?.status).toBe("delivered");
    expect(s.seen).toContain("HELO client.test");
    expect(s.seen).toContain("MAIL FROM:<a@example.org>");
  });

  const deferCases: Array<{ name: string; greeting: string | null; answer: (l: string) => string | null; want: Partial<Extract<RcptResult, { status: "deferred" }>> }> = [
    { name: "4xx greeting", greeting: "421 busy", answer: basic, want: { errno: -18, errstr: "SMTP error from remote mail server after initial connection: 421 busy" } },
    { name: "4xx to EHLO", greeting: "220 x", answer: (l) => (l.startsWith("EHLO") ? "421 later" : basic(l)), want: { errstr: "SMTP error from remote mail server after EHLO/HELO: 421 later" } },
    { name: "4xx to MAIL", greeting: "220 x", answer: (l) => (l.startsWith("MAIL") ? "451 4.3.0 later" : basic(l)), want: { errno: -45 } },
    { name: "4xx to DATA", greeting: "220 x", answer: (l) => (l === "DATA" ? "451 no data" : basic(l)), want: { errno: -46, errstr: "SMTP error from remote mail server after DATA: 451 no data" } },
    { name: "hang-up after DATA", greeting: "220 x", answer: (l) => (l === "<END-OF-DATA>" ? null : basic(l)), want: { errno: -18, errstr: "remote host closed the connection after end of data" } },
    { name: "silence after data", greeting: "220 x", answer: (l) => (l === "<END-OF-DATA>" ? "" : basic(l)), want: { errno: os.constants.errno.ETIMEDOUT, errstr: "SMTP timeout after end of data" } },
    { name: "no greeting", greeting: null, answer: basic, want: { errno: os.constants.errno.ETIMEDOUT, errstr: "SMTP timeout after initial connection" } },
    { name: "garbled reply", greeting: "220 x", answer: (l) => (l.startsWith("EHLO") ? "hello there" : basic(l)), want: { errno: -19 } },
  ];
  it.each(deferCases)("defers every recipient on $name", async ({ greeting, answer, want }) => {
    const s = await scripted(greeting, answer);
    servers.push(s);
    const results = await deliver(s.port, { connectTimeoutMs: 2000, commandTimeoutMs: 300 })(job(["b@x.test", "c@x.test"]));
    expect(results).toHaveLength(2);
    for (const r of results) expect(r).toMatchObject({ status: "deferred", ...want });
  });

  it("fails every recipient on a 5xx to MAIL", async () => {
    const s = await scripted("220 x", (l) => (l.startsWith("MAIL") ? "550 5.7.1 go away" : basic(l)));
    servers.push(s);
    const results = await deliver(s.port)(job(["b@x.test"]));
    expect(results[0]).toMatchObject({ status: "failed", errstr: "SMTP error from remote mail server after MAIL FROM:<a@example.org>: 550 5.7.1 go away" });
  });

  it("refuses to downgrade: a UTF-8 recipient needs SMTPUTF8", async () => {
    const s = await scripted("220 x", basic);
    servers.push(s);
    const results = await deliver(s.port)(job(["ü@x.test"]));
    expect(results[0]).toMatchObject({ status: "failed", errno: -49 });
    expect(s.seen.some((l) => l.startsWith("MAIL"))).toBe(false);
  });

  it("uses SMTPUTF8 and BODY=8BITMIME when offered and needed", async () => {
    const s = await scripted("220 x", (l) => (l.startsWith("EHLO") ? "250-x\r\n250-8BITMIME\r\n250 SMTPUTF8" : basic(l)));
    servers.push(s);
    const results = await deliver(s.port)(job(["ü@x.test"], { body: Buffer.from("Subject: ü\r\n\r\nü\r\n") }));
    expect(results[0]?.status).toBe("delivered");
    expect(s.seen).toContain("MAIL FROM:<a@example.org> BODY=8BITMIME SMTPUTF8");
  });

  it("fails a message larger than the server's SIZE", async () => {
    const s = await scripted("220 x", basic);
    servers.push(s);
    const results = await deliver(s.port)(job(["b@x.test"], { body: Buffer.alloc(2000, 0x61) }));
    expect(results[0]).toMatchObject({ status: "failed", errstr: "message of 2000 bytes exceeds the server's SIZE limit 1000" });
  });

  it("defers with ECONNREFUSED when nothing listens", async () => {
    const s = await scripted("220 x", basic);
    await s.close();
    const results = await deliver(s.port)(job(["b@x.test"]));
    expect(results[0]).toMatchObject({ status: "deferred", errno: os.constants.errno.ECONNREFUSED, errstr: "Connection refused", host: { port: s.port } });
  });
});
