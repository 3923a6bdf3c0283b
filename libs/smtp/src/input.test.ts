import { decodeCommandLine, InputBuffer, TOO_LONG } from "./input";

const limit = (n: number) => (): number => n;

describe("InputBuffer", () => {
  test("lines, offsets and views across pushes", () => {
    const b = new InputBuffer();
    b.push(Buffer.from("NOOP\r\nMA"));
    expect(b.line(limit(512))?.toString()).toBe("NOOP");
    expect(b.offset).toBe(6);
    expect(b.line(limit(512))).toBeNull();
    b.push(Buffer.from("IL\nabc"));
    expect(b.line(limit(512))?.toString()).toBe("MAIL");
    expect([b.offset, b.end, b.buffered]).toEqual([11, 14, 3]);
    expect(b.take(2).toString()).toBe("ab");
    expect(b.peek(10).toString()).toBe("c");
  });

  test("an unterminated line past its limit is dropped, then reported once", () => {
    const b = new InputBuffer();
    b.push(Buffer.alloc(600, 0x41));
    expect(b.line(limit(512))).toBeNull();
    expect(b.buffered).toBe(0);
    b.push(Buffer.from("AAA\r\nNOOP\r\n"));
    expect(b.line(limit(512))).toBe(TOO_LONG);
    expect(b.line(limit(512))?.toString()).toBe("NOOP");
    expect(b.offset).toBe(611);
  });

  test("the limit may depend on the start of the line", () => {
    const b = new InputBuffer();
    const byHead = (head: Buffer): number => (head.toString().startsWith("AUTH ") ? 12288 : 512);
    b.push(Buffer.from(`AUTH PLAIN ${"x".repeat(5000)}\r\nNOOP ${"y".repeat(600)}\r\n`));
    const first = b.line(byHead);
    expect(first instanceof Buffer ? first.length : first).toBe(5011);
    expect(b.line(byHead)).toBe(TOO_LONG);
  });

  test("clear() drops the buffer and moves the offset past skipped octets", () => {
    const b = new InputBuffer();
    b.push(Buffer.from("RSET\r\n"));
    expect(b.clear(10)).toBe(6);
    expect([b.offset, b.end, b.buffered]).toEqual([16, 16, 0]);
  });
});

describe("decodeCommandLine", () => {
  test.each([
    ["NOOP\tx", "NOOP\tx"],
    ["MAIL FROM:<δ@example.org>", "MAIL FROM:<δ@example.org>"],
    ["NOOP \u0000", null],
    ["NOOP \u007f", null],
  ])("%p", (line, want) => {
    expect(decodeCommandLine(Buffer.from(line))).toBe(want);
  });

  test("invalid UTF-8 is refused", () => {
    expect(decodeCommandLine(Buffer.from([0x4e, 0xff]))).toBeNull();
  });
});
