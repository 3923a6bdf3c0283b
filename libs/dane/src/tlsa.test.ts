import { DaneRecordError } from "./errors";
import { classifyTlsa, formatTlsa, parseTlsaText, tlsaFromRdata, usageBits, type TlsaRecord } from "./tlsa";

const rec = (usage: number, selector: number, matchingType: number, len: number): TlsaRecord => ({ usage, selector, matchingType, data: Buffer.alloc(len, 0xab) });

describe("classifyTlsa", () => {
  const cases: Array<{ name: string; record: TlsaRecord; want: string }> = [
    { name: "DANE-EE SPKI SHA-256", record: rec(3, 1, 1, 32), want: "usable" },
    { name: "DANE-EE Cert SHA-512", record: rec(3, 0, 2, 64), want: "usable" },
    { name: "DANE-TA SPKI Full", record: rec(2, 1, 0, 91), want: "usable" },
    { name: "DANE-TA Cert SHA-256", record: rec(2, 0, 1, 32), want: "usable" },
    { name: "PKIX-TA is unusable for SMTP", record: rec(0, 0, 1, 32), want: "pkix-usage" },
    { name: "PKIX-EE is unusable for SMTP", record: rec(1, 1, 1, 32), want: "pkix-usage" },
    { name: "unknown usage", record: rec(4, 1, 1, 32), want: "unknown-usage" },
    { name: "unknown selector", record: rec(3, 2, 1, 32), want: "unknown-selector" },
    { name: "unknown matching type", record: rec(3, 1, 3, 32), want: "unknown-matching-type" },
    { name: "SHA-256 of 31 octets", record: rec(3, 1, 1, 31), want: "bad-digest-length" },
    { name: "SHA-512 of 32 octets", record: rec(3, 1, 2, 32), want: "bad-digest-length" },
    { name: "Full with no data", record: rec(3, 1, 0, 0), want: "empty-data" },
    { name: "Full over 16 KiB", record: rec(3, 0, 0, 16 * 1024 + 1), want: "empty-data" },
  ];
  it.each(cases)("$name → $want", ({ record, want }) => {
    const c = classifyTlsa([record]);
    if (want === "usable") {
      expect(c.usable).toEqual([record]);
      expect(c.unusable).toEqual([]);
    } else {
      expect(c.usable).toEqual([]);
      expect(c.unusable).toEqual([{ record, reason: want }]);
    }
  });

  it("keeps RRset order within each list", () => {
    const rs = [rec(3, 1, 1, 32), rec(0, 0, 1, 32), rec(2, 1, 1, 32), rec(1, 0, 1, 32)];
    const c = classifyTlsa(rs);
    expect(c.usable).toEqual([rs[0], rs[2]]);
    expect(c.unusable.map((u) => u.record)).toEqual([rs[1], rs[3]]);
  });
});

describe("usageBits ($tls_out_tlsa_usage)", () => {
  it.each([
    { usages: [], want: 0 },
    { usages: [2], want: 4 },
    { usages: [3], want: 8 },
    { usages: [2, 3, 3], want: 12 },
    { usages: [0, 1], want: 3 },
  ])("$usages → $want", ({ usages, want }) => {
    expect(usageBits(usages.map((u) => rec(u, 1, 1, 32)))).toBe(want);
  });
});

describe("parseTlsaText / tlsaFromRdata / formatTlsa", () => {
  it("parses presentation form with split hex", () => {
    const r = parseTlsaText(" 3 1 1 0102 0304\t05 ");
    expect(r).toEqual({ usage: 3, selector: 1, matchingType: 1, data: Buffer.from([1, 2, 3, 4, 5]) });
    expect(formatTlsa(r)).toBe("3 1 1 0102030405");
  });
  it.each(["3 1 1", "3 1 x 00", "256 1 1 00", "3 1 1 0", "3 1 1 zz", ""])("refuses %p", (text) => {
    expect(() => parseTlsaText(text)).toThrow(DaneRecordError);
  });
  it("reads wire RDATA", () => {
    expect(tlsaFromRdata(Buffer.from([2, 0, 1, 9, 9]))).toEqual({ usage: 2, selector: 0, matchingType: 1, data: Buffer.from([9, 9]) });
    expect(tlsaFromRdata(Buffer.from([2, 0]))).toBeNull();
  });
  it("cuts long data in formatTlsa", () => {
    expect(formatTlsa(rec(3, 1, 1, 32))).toBe(`3 1 1 ${"ab".repeat(8)}…`);
  });
});
