import { type MxRecord, type Outcome } from "@postern/dns";
import { buildDsn, clean, foldField, smtpReplyOf, statusOf, wantsFailureDsn, type FailedRecipient } from "./dsn";
import { isNullMx, orderMx, resolveHosts, type MxResolver } from "./mx";
import { Limiter } from "./limits";

const answer = <R>(records: R[]): Outcome<R> => ({ kind: "answer", records, ttl: 60, authenticated: false }) as unknown as Outcome<R>;
const kind = <R>(k: string): Outcome<R> => ({ kind: k, ttl: 60 }) as unknown as Outcome<R>;

function resolver(zone: Record<string, { mx?: Outcome<MxRecord>; a?: string[]; aaaa?: string[]; afail?: boolean }>): MxResolver {
  return {
    mx: (n) => Promise.resolve(zone[n]?.mx ?? (zone[n] ? kind("nodata") : kind("nxdomain"))),
    a: (n) => Promise.resolve(zone[n]?.afail ? kind("servfail") : zone[n]?.a ? answer(zone[n].a ?? []) : kind("nodata")),
    aaaa: (n) => Promise.resolve(zone[n]?.aaaa ? answer(zone[n].aaaa ?? []) : kind("nodata")),
  };
}

describe("MX ordering", () => {
  it("orders by preference, drops duplicates, shuffles only equal preferences", () => {
    const recs = [
      { preference: 20, exchange: "c" },
      { preference: 10, exchange: "a" },
      { preference: 10, exchange: "b" },
      { preference: 10, exchange: "A" },
    ];
    expect(orderMx(recs, () => 0.5).map((r) => r.exchange)).toEqual(["a", "b", "c"]);
    let i = 0;
    const seq = [0.9, 0.6, 0.2];
    expect(orderMx(recs.slice(0, 3), () => seq[i++] ?? 0).map((r) => r.exchange)).toEqual(["b", "a", "c"]);
  });
  it.each([
    [[{ preference: 0, exchange: "." }], true],
    [[{ preference: 0, exchange: "" }], true],
    [[{ preference: 0, exchange: "." }, { preference: 10, exchange: "mx" }], false],
    [[{ preference: 0, exchange: "mx" }], false],
  ])("null MX %j -> %s", (recs, want) => expect(isNullMx(recs)).toBe(want));
});

describe("resolveHosts", () => {
  const fam = { families: ["ipv6", "ipv4"] as const, random: () => 0.5 };
  it("interleaves IPv6 and IPv4 per host, in MX order", async () => {
    const r = resolver({
      "d.test": { mx: answer([{ preference: 20, exchange: "mx2.d.test" }, { preference: 10, exchange: "mx1.d.test" }]) },
      "mx1.d.test": { a: ["192.0.2.1", "192.0.2.2"], aaaa: ["2001:db8::1"] },
      "mx2.d.test": { a: ["192.0.2.3"] },
    });
    const got = await resolveHosts(r, "d.test", fam);
    expect(got.kind === "hosts" && got.hosts.map((h) => `${h.name}/${h.ip}`)).toEqual(["mx1.d.test/2001:db8::1", "mx1.d.test/192.0.2.1", "mx1.d.test/192.0.2.2", "mx2.d.test/192.0.2.3"]);
  });
  it.each([
    ["nxdomain", {}, { kind: "fail", errstr: "Unrouteable address: domain d.test does not exist" }],
    ["null MX", { "d.test": { mx: answer([{ preference: 0, exchange: "." }]) } }, { kind: "fail", errstr: "domain d.test does not accept mail (null MX, RFC 7505)" }],
    ["servfail", { "d.test": { mx: kind("servfail") } }, { kind: "defer", errstr: "DNS lookup failed: MX lookup of d.test: servfail" }],
    ["implicit MX", { "d.test": { a: ["192.0.2.9"] } }, { kind: "hosts", hosts: [{ name: "d.test", ip: "192.0.2.9", preference: -1 }] }],
    ["no address anywhere", { "d.test": { mx: answer([{ preference: 1, exchange: "x.test" }]) }, "x.test": {} }, { kind: "fail" }],
    ["address lookups fail", { "d.test": { mx: answer([{ preference: 1, exchange: "x.test" }]) }, "x.test": { afail: true } }, { kind: "defer" }],
  ])("%s", async (_n, zone, want) => {
    expect(await resolveHosts(resolver(zone as never), "d.test", fam)).toMatchObject(want);
  });
});

describe("DSN pieces", () => {
  const target = { pos: 0, address: "bob@x.test", localPart: "bob", domain: "x.test", notify: [] as string[], orcpt: "" };
  const failed = (errstr: string, extra: Partial<FailedRecipient> = {}): FailedRecipient => ({
    target,
    result: { status: "failed", errno: 0, errstr, host: { name: "mx.x.test", ip: "192.0.2.1", port: 25 }, remote: { greeting: "220 mx\r\nBcc: evil", heloResponse: "250-mx hi" } },
    ...extra,
  });
  it.each([
    ["", [], false],
    ["a@b", [], true],
    ["a@b", ["NEVER"], false],
    ["a@b", ["SUCCESS"], false],
    ["a@b", ["SUCCESS", "FAILURE"], true],
  ])("sender %j notify %j wants a failure DSN: %s", (sender, notify, want) => expect(wantsFailureDsn(sender, { notify })).toBe(want));
  it("reduces hostile text to one printable line", () => expect(clean("a\r\nBcc: x\u0000é")).toBe("a Bcc: x??"));
  it("folds long fields at spaces", () => {
    const f = foldField("X-Exim-Diagnostic", `X-str; ${"word ".repeat(30)}`);
    for (const l of f.split("\r\n")) expect(l.length).toBeLessThanOrEqual(78);
    expect(f.split("\r\n").slice(1).every((l) => l.startsWith(" "))).toBe(true);
  });
  it.each([
    ["SMTP error from remote mail server after RCPT TO:<a@b>: 550 5.1.1 no", "550 5.1.1 no", "5.1.1"],
    ["SMTP error from remote mail server after end of data: 554 rejected", "554 rejected", "5.0.0"],
    ["Unrouteable address", undefined, "5.0.0"],
  ])("%s", (errstr, reply, status) => {
    expect(smtpReplyOf(errstr)).toBe(reply);
    expect(statusOf(failed(errstr))).toBe(status);
  });
  it("uses 4.4.7 for expiry and port only when not 25; no header injection from the banner", () => {
    expect(statusOf(failed("retry time exceeded", { expired: true }))).toBe("4.4.7");
    const msg = buildDsn({
      messageId: "m1",
      sender: "a@b.test",
      envid: "",
      ret: undefined,
      receivedAt: undefined,
      reportingMta: "me.test",
      failed: [failed("SMTP error from remote mail server after RCPT TO:<bob@x.test>: 550 no")],
      original: Buffer.from("Subject: s\n\nbody\n"),
      dsnInfo: true,
      returnSizeLimit: 1000,
      now: new Date(0),
    }).toString();
    expect(msg).toContain("Remote-MTA: X-ip; [192.0.2.1]\r\n");
    expect(msg).toContain("X-Remote-MTA-smtp-greeting: X-str; 220 mx Bcc: evil\r\n");
    expect(msg).not.toMatch(/^Bcc:/m);
    expect(msg).toContain("Content-Type: message/rfc822\r\n\r\nSubject: s\r\n\r\nbody\r\n");
    expect(msg).toMatch(/--[0-9a-f]{24}=_postern--\r\n$/);
  });
});

describe("Limiter", () => {
  it("admits max holders per key and hands slots over in order", async () => {
    const l = new Limiter(2);
    const r1 = await l.acquire("k");
    const r2 = await l.acquire("k");
    const order: number[] = [];
    const p3 = l.acquire("k").then((r) => (order.push(3), r));
    const p4 = l.acquire("k").then((r) => (order.push(4), r));
    expect(l.inUse("k")).toBe(2);
    r1();
    r1();
    const r3 = await p3;
    r2();
    const r4 = await p4;
    expect(order).toEqual([3, 4]);
    r3();
    r4();
    expect(l.inUse("k")).toBe(0);
  });
});
