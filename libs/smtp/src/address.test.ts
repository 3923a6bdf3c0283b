import { type PathOptions, parsePath, scanDomain } from "./address";

interface Case {
  input: string;
  opts?: PathOptions;
  wantAddress?: string | null; // null: the null path
  wantLocal?: string;
  wantDomain?: string;
  wantUtf8?: boolean;
  wantRest?: string;
  wantError?: string;
}

const cases: Case[] = [
  { input: "<user@example.org>", wantAddress: "user@example.org", wantLocal: "user", wantDomain: "example.org" },
  { input: "<User.Name+tag@Example.ORG>", wantAddress: "User.Name+tag@Example.ORG", wantDomain: "Example.ORG" },
  { input: "<a@b> SIZE=10", wantAddress: "a@b", wantRest: " SIZE=10" },
  { input: "<>", opts: { allowNull: true }, wantAddress: null, wantRest: "" },
  { input: "<> BODY=8BITMIME", opts: { allowNull: true }, wantAddress: null, wantRest: " BODY=8BITMIME" },
  { input: "<>", wantError: "null path not allowed here" },
  { input: '<"john doe"@example.org>', wantAddress: '"john doe"@example.org', wantLocal: '"john doe"' },
  { input: '<"a\\"b"@example.org>', wantLocal: '"a\\"b"' },
  { input: '<"user@evil.example"@example.org>', wantLocal: '"user@evil.example"', wantDomain: "example.org" },
  { input: '<""@example.org>', wantLocal: '""' },
  { input: '<"unterminated@example.org>', wantError: "bad local part" },
  { input: '<"a\tb"@x>', wantError: "bad local part" },
  { input: "<user%evil.example@example.org>", wantLocal: "user%evil.example", wantDomain: "example.org" },
  { input: "<evil.example!user@example.org>", wantLocal: "evil.example!user", wantDomain: "example.org" },
  { input: "<@relay.example,@b.example:user@example.org>", wantAddress: "user@example.org" },
  { input: "<@relay.example:user@example.org>", wantAddress: "user@example.org" },
  { input: "<@relay.example user@example.org>", wantError: "bad source route" },
  { input: "<user@[192.0.2.1]>", wantDomain: "[192.0.2.1]" },
  { input: "<user@[IPv6:2001:db8::1]>", wantDomain: "[IPv6:2001:db8::1]" },
  { input: "<user@[300.0.0.1]>", wantError: "bad domain" },
  { input: "<user@[2001:db8::1]>", wantError: "bad domain" },
  { input: "<Postmaster>", opts: { allowPostmaster: true }, wantAddress: "Postmaster", wantDomain: "" },
  { input: "<postmaster>", wantError: "missing @domain" },
  { input: "<user>", opts: { allowPostmaster: true }, wantError: "missing @domain" },
  { input: "user@example.org", wantError: "path must start with <" },
  { input: "<user@example.org", wantError: "path must end with >" },
  { input: "<user@@example.org>", wantError: "bad domain" },
  { input: "<.user@example.org>", wantError: "bad local part" },
  { input: "<user.@example.org>", wantError: "bad local part" },
  { input: "<us..er@example.org>", wantError: "bad local part" },
  { input: "<user@-example.org>", wantError: "bad domain" },
  { input: "<user@example-.org>", wantError: "bad domain" },
  { input: "<user@example..org>", wantError: "bad domain" },
  { input: "<user@example.org.>", wantError: "bad domain" },
  { input: "<user@exa mple.org>", wantError: "path must end with >" },
  { input: `<user@${"a".repeat(64)}.org>`, wantError: "bad domain" },
  { input: `<user@${"a".repeat(63)}.org>`, wantDomain: `${"a".repeat(63)}.org` },
  { input: "<user@>", wantError: "bad domain" },
  { input: "<@example.org>", wantError: "bad source route" },
  { input: "<用户@例子.广告>", wantAddress: "用户@例子.广告", wantUtf8: true },
  { input: "<user@example.org>", wantUtf8: false },
  { input: '<"用户"@example.org>', wantUtf8: true },
];

describe("parsePath", () => {
  test.each(cases)("$input", (c) => {
    const got = parsePath(c.input, c.opts);
    if (c.wantError !== undefined) {
      expect(got).toEqual({ ok: false, reason: c.wantError });
      return;
    }
    if (!got.ok) throw new Error(`unexpected failure: ${got.reason}`);
    if (c.wantAddress !== undefined) expect(got.mailbox?.address ?? null).toBe(c.wantAddress);
    if (c.wantLocal !== undefined) expect(got.mailbox?.localPart).toBe(c.wantLocal);
    if (c.wantDomain !== undefined) expect(got.mailbox?.domain).toBe(c.wantDomain);
    if (c.wantUtf8 !== undefined) expect(got.mailbox?.utf8).toBe(c.wantUtf8);
    expect(got.rest).toBe(c.wantRest ?? "");
  });

  test("appending bytes after > only changes rest", () => {
    for (const c of cases.filter((x) => x.wantError === undefined && x.wantRest === undefined)) {
      const got = parsePath(`${c.input} X`, c.opts);
      expect(got.ok && got.rest).toBe(" X");
    }
  });

  test("dropping the closing > is an error", () => {
    for (const c of cases.filter((x) => x.wantError === undefined && x.wantRest === undefined)) {
      expect(parsePath(c.input.slice(0, -1), c.opts).ok).toBe(false);
    }
  });
});

describe("scanDomain", () => {
  test.each([
    ["mx.example.org", 14],
    ["mx.example.org rest", 14],
    ["a", 1],
    ["-a", -1],
    ["", -1],
  ])("%s", (input, want) => {
    expect(scanDomain(input, 0)).toBe(want);
  });
});
