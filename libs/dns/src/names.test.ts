import { canonicalName, checkName, reverseName, sameName } from "./names";

const l63 = "a".repeat(63);
const n253 = `${l63}.${l63}.${l63}.${"a".repeat(61)}`;

describe("checkName", () => {
  const cases: { name: string; input: string; wantOk: boolean; wantName?: string; wantReason?: RegExp }[] = [
    { name: "plain", input: "example.com", wantOk: true, wantName: "example.com" },
    { name: "trailing dot stripped", input: "example.com.", wantOk: true, wantName: "example.com" },
    { name: "root", input: ".", wantOk: true, wantName: "." },
    { name: "empty is root", input: "", wantOk: true, wantName: "." },
    { name: "label of 63", input: `${l63}.com`, wantOk: true },
    { name: "label of 64", input: `${l63}a.com`, wantOk: false, wantReason: /label of 64 octets/ },
    { name: "name of 253", input: n253, wantOk: true },
    { name: "name of 253 plus dot", input: `${n253}.`, wantOk: true, wantName: n253 },
    { name: "name of 254", input: `${n253}a`, wantOk: false, wantReason: /254 octets/ },
    { name: "empty label", input: "a..b", wantOk: false, wantReason: /empty label/ },
    { name: "leading dot", input: ".a", wantOk: false, wantReason: /empty label/ },
    { name: "two trailing dots", input: "a..", wantOk: false, wantReason: /empty label/ },
    { name: "utf-8 octets count", input: `${"é".repeat(32)}.com`, wantOk: false, wantReason: /64 octets/ },
    { name: "underscore labels", input: "_25._tcp.mx.example", wantOk: true },
  ];
  it.each(cases)("$name", ({ input, wantOk, wantName, wantReason }) => {
    const got = checkName(input);
    expect(got.ok).toBe(wantOk);
    if (got.ok && wantName !== undefined) expect(got.name).toBe(wantName);
    if (!got.ok && wantReason !== undefined) expect(got.reason).toMatch(wantReason);
  });
});

describe("name comparison", () => {
  it.each([
    ["Example.COM", "example.com.", true],
    ["example.com", "example.org", false],
    [".", "", true],
    ["ÉX.com", "éx.com", false],
  ])("sameName(%s, %s) = %s", (a, b, want) => expect(sameName(a, b)).toBe(want));

  it("canonicalName lowercases ASCII only", () => expect(canonicalName("MiXÉd.Example.")).toBe("mixÉd.example"));
});

describe("reverseName", () => {
  it.each([
    ["192.0.2.1", "1.2.0.192.in-addr.arpa"],
    ["2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"],
    ["::1", `1.${"0.".repeat(31)}ip6.arpa`],
    ["::", `${"0.".repeat(32)}ip6.arpa`],
    ["::ffff:192.0.2.1", "1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa"],
    ["2001:DB8:0:0:1::", "0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"],
    ["example.com", null],
    ["192.0.2", null],
  ])("%s", (ip, want) => expect(reverseName(ip)).toBe(want));
});
