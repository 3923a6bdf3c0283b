import { BdatBody, parseBdatArgs } from "./bdat";
import { type DataInfo } from "./data";
import { splitters } from "./testing/driver";

describe("parseBdatArgs", () => {
  test.each([
    ["0", { size: 0, last: false }],
    ["0 LAST", { size: 0, last: true }],
    ["12 last", { size: 12, last: true }],
    ["12  LAST", { size: 12, last: true }],
    ["9007199254740991", { size: 9007199254740991, last: false }],
    ["", null],
    ["LAST", null],
    ["-1", null],
    ["1.5", null],
    ["1e3", null],
    ["12 LAST x", null],
    ["12 FIRST", null],
    ["9007199254740992", null],
    ["12345678901234567", null],
  ])("%p", (args, want) => {
    expect(parseBdatArgs(args)).toEqual(want);
  });
});

interface Case {
  name: string;
  input: string;
  max?: number;
  wantKept: string;
  wantInfo: Partial<DataInfo>;
}

const cases: Case[] = [
  { name: "clean lines", input: "a\r\nb\r\n", wantKept: "a\r\nb\r\n", wantInfo: { size: 6, bareCr: false, bareLf: false, longLines: false } },
  { name: "bare LF", input: "a\nb", wantKept: "a\nb", wantInfo: { bareLf: true, bareCr: false } },
  { name: "bare CR inside", input: "a\rb\r\n", wantKept: "a\rb\r\n", wantInfo: { bareCr: true, bareLf: false } },
  { name: "CR at the very end", input: "a\r", wantKept: "a\r", wantInfo: { bareCr: true } },
  { name: "CR CR LF", input: "a\r\r\n", wantKept: "a\r\r\n", wantInfo: { bareCr: true, bareLf: false } },
  { name: "998 octets is fine", input: `${"x".repeat(998)}\r\n`, wantKept: `${"x".repeat(998)}\r\n`, wantInfo: { longLines: false } },
  { name: "999 octets is long", input: `${"x".repeat(999)}\r\n`, wantKept: `${"x".repeat(999)}\r\n`, wantInfo: { longLines: true } },
  { name: "a long last line without CRLF", input: "x".repeat(999), wantKept: "x".repeat(999), wantInfo: { longLines: true } },
  { name: "8bit and NUL", input: "\u00e9\u0000", wantKept: "\u00e9\u0000", wantInfo: { eightBit: true, nul: true } },
  { name: "dots are content", input: ".\r\n..\r\n", wantKept: ".\r\n..\r\n", wantInfo: { size: 7 } },
  { name: "exactly at the limit", input: "abcde", max: 5, wantKept: "abcde", wantInfo: { size: 5, sizeExceeded: false } },
  { name: "over the limit: counted, not kept", input: "abcdef", max: 5, wantKept: "", wantInfo: { size: 6, sizeExceeded: true } },
];

describe("BdatBody", () => {
  for (const [split, fn] of splitters) {
    describe(split, () => {
      test.each(cases)("$name", (c) => {
        const b = new BdatBody(c.max ?? 1 << 20);
        const kept: Buffer[] = [];
        for (const part of fn(Buffer.from(c.input, "latin1"))) {
          const k = b.write(part);
          if (k !== null) kept.push(k);
        }
        // over the limit, what was kept before the limit depends on the split
        if (c.wantInfo.sizeExceeded !== true) expect(Buffer.concat(kept).toString("latin1")).toBe(c.wantKept);
        expect(b.info()).toMatchObject({ size: Buffer.byteLength(c.input, "latin1"), ...c.wantInfo });
        expect(b.exceeded).toBe(c.wantInfo.sizeExceeded ?? false);
      });
    });
  }

  test("an empty write keeps nothing", () => {
    expect(new BdatBody(10).write(Buffer.alloc(0))).toBeNull();
  });
});
