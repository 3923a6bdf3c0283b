import { formatServerReply, reply } from "./reply";
import { addressLiteral, formatReceived, formatRfc5322Date } from "./received";

describe("formatServerReply", () => {
  test.each([
    { r: reply(250, "2.0.0", "Ok"), want: "250 2.0.0 Ok\r\n" },
    { r: reply(354, undefined, "Go ahead"), want: "354 Go ahead\r\n" },
    { r: reply(250, undefined, "a", "b", "c"), want: "250-a\r\n250-b\r\n250 c\r\n" },
    { r: reply(214, "2.0.0", "x", "y"), want: "214-2.0.0 x\r\n214 2.0.0 y\r\n" },
    { r: reply(500, "5.5.2", "bad\r\n250 forged"), want: "500 5.5.2 bad??250 forged\r\n" },
    { r: reply(250, undefined), want: "250\r\n" },
    { r: reply(555, "5.5.4", "Unsupported option: \u00e9"), want: "555 5.5.4 Unsupported option: ?\r\n" },
  ])("$want", ({ r, want }) => {
    expect(formatServerReply(r)).toBe(want);
  });
});

describe("Received", () => {
  const date = new Date(Date.UTC(2025, 10, 27, 9, 5, 7));
  test("RFC 5322 date", () => {
    expect(formatRfc5322Date(date)).toBe("Thu, 27 Nov 2025 09:05:07 +0000");
  });
  test("address literal", () => {
    expect(addressLiteral("192.0.2.1")).toBe("[192.0.2.1]");
    expect(addressLiteral("2001:db8::1")).toBe("[IPv6:2001:db8::1]");
  });
  test("one recipient", () => {
    const got = formatReceived({ helo: "client.example", clientIp: "192.0.2.1", hostname: "mx.test", protocol: "ESMTP", id: "ABC", recipient: "u@example.org", date });
    expect(got).toBe(
      "Received: from client.example ([192.0.2.1])\r\n\tby mx.test (Postern) with ESMTP id ABC\r\n\tfor <u@example.org>;\r\n\tThu, 27 Nov 2025 09:05:07 +0000\r\n",
    );
  });
  test("hostile HELO cannot add header lines", () => {
    const got = formatReceived({ helo: "x\r\nBcc: evil (y)", clientIp: "192.0.2.1", hostname: "mx.test", protocol: "SMTP", id: "A", date });
    expect(got.split("\r\n")[0]).toBe("Received: from x??Bcc:?evil??y? ([192.0.2.1])");
    expect(got).not.toMatch(/for </);
  });
});
