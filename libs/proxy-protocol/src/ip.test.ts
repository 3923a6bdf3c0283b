import { SocketAddress } from "node:net";
import * as fc from "fast-check";
import { formatIPv6, parseIPv4, parseIPv6 } from "./ip";

describe("ip", () => {
  test.each([
    ["0.0.0.0", [0, 0, 0, 0]],
    ["255.255.255.255", [255, 255, 255, 255]],
    ["10.0.100.9", [10, 0, 100, 9]],
  ])("IPv4 %s", (text, want) => {
    expect([...parseIPv4(text)!]).toEqual(want);
  });

  test.each(["01.1.1.1", "1.1.1", "1.1.1.1.1", "256.1.1.1", "1.1.1.1 ", "", "a.b.c.d", "1.1.1.-1", "1.1.1.+1"])("IPv4 %p refused", (text) => {
    expect(parseIPv4(text)).toBeUndefined();
  });

  test.each([
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:DB8::0:1", "2001:db8::1"],
    ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
    ["::1.2.3.4", "::1.2.3.4"],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
  ])("IPv6 %s prints as %s", (text, want) => {
    expect(formatIPv6(parseIPv6(text)!)).toBe(want);
  });

  test.each(["", ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "12345::", "fe80::1%eth0", "::ffff:1.2.3", "1.2.3.4::", "[::1]", ":1::", "1:::2", "::g"])(
    "IPv6 %p refused",
    (text) => {
      expect(parseIPv6(text)).toBeUndefined();
    },
  );

  test("formatting matches node's own (libuv) for any 16 bytes", () => {
    const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (words) => {
        const full = words.map((w) => w.toString(16)).join(":");
        const bytes = Buffer.alloc(16);
        words.forEach((w, i) => bytes.writeUInt16BE(w, 2 * i));
        const ours = formatIPv6(bytes);
        expect(ours).toBe(new SocketAddress({ address: full, family: "ipv6" }).address);
        expect(Buffer.from(parseIPv6(ours)!)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});
