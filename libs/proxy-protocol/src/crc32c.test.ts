import { crc32c, crc32cWithZeroedField } from "./crc32c";

describe("crc32c", () => {
  // Check value and RFC 3720 appendix B.4 vectors.
  test.each([
    ["123456789", Buffer.from("123456789"), 0xe3069283],
    ["32 zero bytes", Buffer.alloc(32), 0x8a9136aa],
    ["32 0xff bytes", Buffer.alloc(32, 0xff), 0x62a8ab43],
    ["0..31", Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
    ["31..0", Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
    ["empty", Buffer.alloc(0), 0],
  ])("%s", (_name, data, want) => {
    expect(crc32c(data)).toBe(want);
  });

  test("zeroed field variant equals the CRC of the zeroed copy", () => {
    const b = Buffer.from("0123456789abcdef");
    const z = Buffer.from(b);
    z.fill(0, 5, 9);
    expect(crc32cWithZeroedField(b, 5)).toBe(crc32c(z));
  });
});
