/**
 * Canonicalisation tables (RFC 6376 3.4, with its 3.4.6 example) and the
 * streaming property: any chunking gives the same canonical body.
 */
import { BodyCanonicalizer, BodyHash, canonicalizeHeader, relaxHeaderValue } from "./canon";
import { parseHeaderFields } from "./message";
import type { Canonicalization } from "./types";

function canonBody(canon: Canonicalization, parts: readonly string[]): string {
  const out: Buffer[] = [];
  const c = new BodyCanonicalizer(canon);
  c.addSink({ write: (b) => out.push(Buffer.from(b)) });
  for (const p of parts) c.update(Buffer.from(p, "latin1"));
  c.finish();
  return Buffer.concat(out).toString("latin1");
}

describe("body canonicalisation", () => {
  const rows: { name: string; body: string; wantSimple: string; wantRelaxed: string }[] = [
    { name: "RFC 6376 3.4.6 example", body: " C \r\nD \t E\r\n\r\n\r\n", wantSimple: " C \r\nD \t E\r\n", wantRelaxed: " C\r\nD E\r\n" },
    { name: "empty body", body: "", wantSimple: "\r\n", wantRelaxed: "" },
    { name: "only empty lines", body: "\r\n\r\n\r\n", wantSimple: "\r\n", wantRelaxed: "" },
    { name: "only whitespace lines", body: " \r\n\t\r\n", wantSimple: " \r\n\t\r\n", wantRelaxed: "" },
    { name: "no final CRLF", body: "abc", wantSimple: "abc\r\n", wantRelaxed: "abc\r\n" },
    { name: "no final CRLF, trailing whitespace", body: "abc \t", wantSimple: "abc \t\r\n", wantRelaxed: "abc\r\n" },
    { name: "empty lines inside are kept", body: "a\r\n\r\n\r\nb\r\n\r\n", wantSimple: "a\r\n\r\n\r\nb\r\n", wantRelaxed: "a\r\n\r\n\r\nb\r\n" },
    { name: "leading whitespace becomes one space", body: "\t \ta  b\r\n", wantSimple: "\t \ta  b\r\n", wantRelaxed: " a b\r\n" },
    { name: "bare LF is a line end", body: "a \nb\n\n", wantSimple: "a \r\nb\r\n", wantRelaxed: "a\r\nb\r\n" },
    { name: "bare CR is data", body: "a\rb\r\n\r", wantSimple: "a\rb\r\n\r\r\n", wantRelaxed: "a\rb\r\n\r\r\n" },
    { name: "CR CR LF", body: "a\r\r\n", wantSimple: "a\r\r\n", wantRelaxed: "a\r\r\n" },
    { name: "8-bit data", body: "caf\u00e9 \u00ff\r\n", wantSimple: "caf\u00e9 \u00ff\r\n", wantRelaxed: "caf\u00e9 \u00ff\r\n" },
  ];
  it.each(rows)("$name", ({ body, wantSimple, wantRelaxed }) => {
    expect(canonBody("simple", [body])).toBe(wantSimple);
    expect(canonBody("relaxed", [body])).toBe(wantRelaxed);
  });

  it.each(rows)("$name: every split into two and three chunks gives the same output", ({ body, wantSimple, wantRelaxed }) => {
    for (let i = 0; i <= body.length; i++) {
      for (let j = i; j <= body.length; j++) {
        const parts = [body.slice(0, i), body.slice(i, j), body.slice(j)];
        expect([i, j, canonBody("simple", parts)]).toEqual([i, j, wantSimple]);
        expect([i, j, canonBody("relaxed", parts)]).toEqual([i, j, wantRelaxed]);
      }
    }
  });

  it("one byte at a time on a longer body", () => {
    const body = "  Hello \t world  \r\n\tsecond\tline\t\n\n third\r\r\n \r\n\r\n";
    for (const c of ["simple", "relaxed"] as const) expect(canonBody(c, body.split(""))).toBe(canonBody(c, [body]));
  });

  it("BodyHash cuts at l= and still counts the whole length", () => {
    const cut = new BodyHash("sha256", 5);
    const whole = new BodyHash("sha256");
    cut.write(Buffer.from("abc"));
    cut.write(Buffer.from("defgh"));
    whole.write(Buffer.from("abcde"));
    expect(cut.digest()).toEqual(whole.digest());
    expect(cut.length).toBe(8);
  });
});

describe("header canonicalisation", () => {
  it("RFC 6376 3.4.6 example", () => {
    const fields = parseHeaderFields(Buffer.from("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n", "latin1"));
    expect(fields.map((f) => canonicalizeHeader("relaxed", f)).join("")).toBe("a:X\r\nb:Y Z\r\n");
    expect(fields.map((f) => canonicalizeHeader("simple", f)).join("")).toBe("A: X\r\nB : Y\t\r\n\tZ  \r\n");
  });

  it.each([
    ["  a  b  ", "a b"],
    ["\r\n\ta\r\n b", "a b"],
    ["", ""],
    [" \t ", ""],
    ["x", "x"],
  ])("relaxed value %j → %j", (value, want) => {
    expect(relaxHeaderValue(value)).toBe(want);
  });

  it("parses fields with LF or CRLF, folding, mbox From lines and garbage", () => {
    const fields = parseHeaderFields(Buffer.from("From sender Mon Jan 1\nSubject: a\n b\r\nnot a field\nX-Y:z\n\nbody: no\n", "latin1"));
    expect(fields.map((f) => [f.lowerName, f.value])).toEqual([
      ["subject", " a\r\n b"],
      ["x-y", "z"],
    ]);
  });
});
