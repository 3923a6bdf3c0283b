import { formatIPv6, macroIp, parseClientIp, parseIPv4, parseIPv6, prefixMatch, reverseName } from "./ip";

describe("parseIPv4", () => {
  test.each([
    ["192.0.2.1", [192, 0, 2, 1]],
    ["0.0.0.0", [0, 0, 0, 0]],
    ["255.255.255.255", [255, 255, 255, 255]],
    ["1.2.3", undefined],
    ["1.2.3.4.5", undefined],
    ["1.2.03.4", undefined],
    ["1.2.3.256", undefined],
    ["1.2.3.-4", undefined],
    ["1.2.3.4 ", undefined],
  ])("%j", (text, want) => {
    const got = parseIPv4(text);
    expect(got && Array.from(got)).toEqual(want);
  });
});

describe("parseIPv6 and formatIPv6", () => {
  test.each([
    ["::", "::"],
    ["::1", "::1"],
    ["2001:DB8:0:0:0:0:0:CB01", "2001:db8::cb01"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
    ["::1.1.1.1", "::101:101"],
    ["CAFE:BABE::1", "cafe:babe::1"],
  ])("%s → %s", (text, want) => {
    const bytes = parseIPv6(text);
    expect(bytes && formatIPv6(bytes)).toBe(want);
  });

  test.each([":", ":::", "1::2::3", ":CAFE::BABE", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2:3:4:5:6:7:8", "12345::", "1.2.3.4::", "g::1", "fe80::1%eth0"])(
    "%j is not an address",
    (text) => {
      expect(parseIPv6(text)).toBeUndefined();
    },
  );
});

describe("client addresses", () => {
  test("IPv4-mapped IPv6 is IPv4", () => {
    expect(parseClientIp("::FFFF:1.2.3.4")).toMatchObject({ family: 4, text: "1.2.3.4" });
    expect(parseClientIp("::ffff:102:304")).toMatchObject({ family: 4, text: "1.2.3.4" });
  });

  test("macro and reverse forms", () => {
    const v6 = parseClientIp("2001:db8::cb01");
    const v4 = parseClientIp("192.0.2.3");
    if (!v6 || !v4) throw new Error("test addresses");
    expect(macroIp(v6)).toBe("2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1");
    expect(reverseName(v6)).toBe("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    expect(macroIp(v4)).toBe("192.0.2.3");
    expect(reverseName(v4)).toBe("3.2.0.192.in-addr.arpa");
  });

  test("prefixMatch", () => {
    const a = Uint8Array.of(192, 0, 2, 129);
    expect(prefixMatch(a, Uint8Array.of(192, 0, 2, 0), 24)).toBe(true);
    expect(prefixMatch(a, Uint8Array.of(192, 0, 2, 0), 25)).toBe(false);
    expect(prefixMatch(a, Uint8Array.of(192, 0, 2, 128), 25)).toBe(true);
    expect(prefixMatch(a, Uint8Array.of(10, 0, 0, 0), 0)).toBe(true);
    expect(prefixMatch(a, Uint8Array.of(192, 0, 2, 129), 32)).toBe(true);
  });
});

describe("parseIPv4 and parseClientIp (single-pass parser)", () => {
  test.each([
    ["1.2.3.4", [1, 2, 3, 4]],
    ["10.0.0.255", [10, 0, 0, 255]],
    ["0.10.100.200", [0, 10, 100, 200]],
    ["", undefined],
    [".1.2.3", undefined],
    ["1.2.3.", undefined],
    ["1..2.3", undefined],
    ["1.2.3.4.", undefined],
    ["00.1.2.3", undefined],
    ["1.2.3.00", undefined],
    ["1.2.3.010", undefined],
    ["1.2.3.0010", undefined],
    ["256.1.1.1", undefined],
    ["1.2.3.1000", undefined],
    ["9999.1.1.1", undefined],
    ["1.2.3.4a", undefined],
    ["0x1.2.3.4", undefined],
    ["+1.2.3.4", undefined],
    ["1.2.3.4\n", undefined],
    ["١.2.3.4", undefined],
  ])("parseIPv4(%j)", (text, want) => {
    const got = parseIPv4(text);
    expect(got && Array.from(got)).toEqual(want);
  });

  test.each([
    ["192.0.2.1", 4, "192.0.2.1", "192.0.2.1", "1.2.0.192.in-addr.arpa"],
    ["0.0.0.0", 4, "0.0.0.0", "0.0.0.0", "0.0.0.0.in-addr.arpa"],
    ["::ffff:192.0.2.1", 4, "192.0.2.1", "192.0.2.1", "1.2.0.192.in-addr.arpa"],
    ["::FFFF:C000:0201", 4, "192.0.2.1", "192.0.2.1", "1.2.0.192.in-addr.arpa"],
    ["::fffe:c000:201", 6, "::fffe:c000:201", "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.F.F.F.E.C.0.0.0.0.2.0.1", "1.0.2.0.0.0.0.c.e.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa"],
    ["1::ffff:c000:201", 6, "1::ffff:c000:201", "0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.F.F.F.F.C.0.0.0.0.2.0.1", "1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.ip6.arpa"],
  ])("parseClientIp(%j): family %d, text, %%{i} and PTR name", (text, family, readable, macro, reverse) => {
    const ip = parseClientIp(text);
    if (!ip) throw new Error("address expected");
    expect([ip.family, ip.text, macroIp(ip), reverseName(ip)]).toEqual([family, readable, macro, reverse]);
  });

  test.each(["01.2.3.4", "1.2.3", "::ffff:1.2.3.256", "example.com", ""])("parseClientIp(%j) is not an address", (text) => {
    expect(parseClientIp(text)).toBeUndefined();
  });
});
