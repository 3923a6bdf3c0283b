import { createZoneDns } from "./zone-dns";

describe("createZoneDns (conformance README rules)", () => {
  const dns = createZoneDns({
    "Spf.Example.com.": [{ SPF: "v=spf1 -all" }, { A: "192.0.2.1" }],
    "both.example.com": [{ SPF: "v=spf1 +all" }, { TXT: "v=spf1 -all" }],
    "none.example.com": [{ SPF: "v=spf1 -all" }, { TXT: "NONE" }],
    "multi.example.com": [{ SPF: ["v=spf1 ip4:", "192.0.2.5 -all"] }, { SPF: [] }],
    "timeout-after.example.com": [{ TXT: "v=spf1 -all" }, "TIMEOUT", { A: "192.0.2.9" }],
    "copy-after-timeout.example.com": [{ SPF: "v=spf1 -all" }, "TIMEOUT"],
    "alias.example.com": [{ CNAME: "SPF.example.com." }],
    "loop1.example.com": [{ CNAME: "loop2.example.com" }],
    "loop2.example.com": [{ CNAME: "loop1.example.com" }],
    "mx.example.com": [{ MX: [0, ""] }, { MX: [10, "a.example.com"] }],
  });

  test.each([
    ["txt", "spf.example.com", { kind: "answer", records: [["v=spf1 -all"]] }],
    ["txt", "SPF.EXAMPLE.COM.", { kind: "answer", records: [["v=spf1 -all"]] }],
    ["txt", "spf..example.com", { kind: "answer", records: [["v=spf1 -all"]] }],
    ["txt", "both.example.com", { kind: "answer", records: [["v=spf1 -all"]] }],
    ["txt", "none.example.com", { kind: "nodata" }],
    ["txt", "multi.example.com", { kind: "answer", records: [["v=spf1 ip4:", "192.0.2.5 -all"], []] }],
    ["txt", "timeout-after.example.com", { kind: "answer", records: [["v=spf1 -all"]] }],
    ["a", "timeout-after.example.com", { kind: "timeout" }],
    ["txt", "copy-after-timeout.example.com", { kind: "timeout" }],
    ["a", "alias.example.com", { kind: "answer", records: ["192.0.2.1"] }],
    ["a", "loop1.example.com", { kind: "servfail" }],
    ["aaaa", "spf.example.com", { kind: "nodata" }],
    ["a", "missing.example.com", { kind: "nxdomain" }],
    ["a", `${"x".repeat(64)}.example.com`, { kind: "servfail" }],
    ["a", `${"x".repeat(63)}.example.com`, { kind: "nxdomain" }],
    ["a", `${"x".repeat(64)}`, { kind: "servfail" }],
    ["a", ".spf.example.com", { kind: "answer", records: ["192.0.2.1"] }],
    ["a", "Spf.Example.Com", { kind: "answer", records: ["192.0.2.1"] }],
    ["a", "spf.example.com.", { kind: "answer", records: ["192.0.2.1"] }],
    ["a", "spf.exampl\u00e9.com", { kind: "nxdomain" }],
    ["a", "", { kind: "nxdomain" }],
    ["a", "ALIAS.example.com.", { kind: "answer", records: ["192.0.2.1"] }],
    ["mx", "mx.example.com", { kind: "answer", records: [{ preference: 0, exchange: "" }, { preference: 10, exchange: "a.example.com" }] }],
  ] as const)("%s %s", async (type, name, want) => {
    expect(await dns[type](name)).toEqual(want);
  });

  test("queries are recorded in order", async () => {
    const zone = createZoneDns({});
    await zone.txt("a.example.com");
    await zone.ptr("1.2.0.192.in-addr.arpa");
    expect(zone.queries).toEqual([
      { type: "TXT", name: "a.example.com" },
      { type: "PTR", name: "1.2.0.192.in-addr.arpa" },
    ]);
  });

  test("malformed zone data is refused", () => {
    expect(() => createZoneDns({ "a.example.com": [{ MX: "mx.example.com" }] })).toThrow("MX value");
    expect(() => createZoneDns({ "a.example.com": [{ SRV: "x" }] })).toThrow("unsupported record type");
  });
});
