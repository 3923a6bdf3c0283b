import { ReferenceDataEncoder } from "../testing/data-encoder-reference";
import { randomChunks, rng } from "../testing/split";
import { DataEncoder, encodeData, hasEightBit } from "./data-encoder";

function encodeSplit(input: Buffer, split: "whole" | "bytes" | number): string {
  const enc = new DataEncoder();
  const out: Buffer[] = [];
  if (split === "whole") out.push(enc.push(input));
  else if (split === "bytes") for (const b of input) out.push(enc.push(Buffer.from([b])));
  else {
    for (const chunk of randomChunks(input, split, 6, true)) out.push(enc.push(chunk)); // zero-length chunks included
  }
  out.push(enc.end());
  expect(enc.inputBytes).toBe(input.length);
  return Buffer.concat(out).toString("latin1");
}

const cases: Array<{ name: string; input: string; want: string }> = [
  { name: "empty message", input: "", want: ".\r\n" },
  { name: "CRLF terminated", input: "a\r\nb\r\n", want: "a\r\nb\r\n.\r\n" },
  { name: "unterminated last line", input: "a\r\nb", want: "a\r\nb\r\n.\r\n" },
  { name: "bare LF", input: "a\nb\n", want: "a\r\nb\r\n.\r\n" },
  { name: "mixed line ends", input: "a\r\nb\nc", want: "a\r\nb\r\nc\r\n.\r\n" },
  { name: "leading dot on first line", input: ".hidden\r\n", want: "..hidden\r\n.\r\n" },
  { name: "lone dot line", input: "a\r\n.\r\nb\r\n", want: "a\r\n..\r\nb\r\n.\r\n" },
  { name: "dot after bare LF", input: "a\n.b", want: "a\r\n..b\r\n.\r\n" },
  { name: "dots not at line start", input: "a.b\r\n x.\r\n", want: "a.b\r\n x.\r\n.\r\n" },
  { name: "double dot line", input: "..\r\n", want: "...\r\n.\r\n" },
  { name: "bare CR passed through", input: "a\rb\r\n", want: "a\rb\r\n.\r\n" },
  { name: "bare CR before dot is no line start", input: "a\r.b\r\n", want: "a\r.b\r\n.\r\n" },
  { name: "trailing CR completed", input: "a\r", want: "a\r\n.\r\n" },
  { name: "empty lines", input: "\r\n\n\r\n", want: "\r\n\r\n\r\n.\r\n" },
  { name: "terminator-looking body", input: "x\r\n.\r\n", want: "x\r\n..\r\n.\r\n" },
  { name: "8-bit bytes kept", input: "gr\xfc\xdfe\r\n", want: "gr\xfc\xdfe\r\n.\r\n" },
];

describe("DataEncoder", () => {
  for (const c of cases) {
    for (const split of ["whole", "bytes", 1, 2, 3, 4] as const) {
      it(`${c.name} (${split})`, () => {
        expect(encodeSplit(Buffer.from(c.input, "latin1"), split)).toBe(c.want);
      });
    }
  }

  it("never leaves a line start with a single dot and always ends with CRLF.CRLF (random bodies)", () => {
    const next = rng(42);
    const alphabet = [".", "\r", "\n", "a", "\r\n", ".."];
    for (let n = 0; n < 300; n++) {
      let body = "";
      const len = Math.floor(next() * 30);
      for (let i = 0; i < len; i++) body += alphabet[Math.floor(next() * alphabet.length)];
      const whole = encodeSplit(Buffer.from(body, "latin1"), "whole");
      expect(encodeSplit(Buffer.from(body, "latin1"), n)).toBe(whole);
      expect(whole.endsWith("\r\n.\r\n") || whole === ".\r\n").toBe(true);
      const content = whole.slice(0, whole.length - 3);
      expect(content).not.toMatch(/(?:^|\r\n)\.(?!\.)/); // every stuffed line starts with ".."
      expect(content).not.toMatch(/(?<!\r)\n/); // no bare LF
      // Un-stuffing gives back the body with LF normalised to CRLF.
      const unstuffed = content.replace(/(^|\r\n)\./g, "$1");
      const normalised = body.replace(/\r?\n/g, "\r\n");
      expect(unstuffed).toBe(normalised.length === 0 || /\r?\n$/.test(body) || body.endsWith("\r") ? normalised.replace(/\r$/, "\r\n") : `${normalised}\r\n`);
    }
  });

  describe("against the copying reference (seeded random inputs and splits)", () => {
    // Alphabets from "every line needs work" to "plain text": the fast path returns the input
    // itself, so its edges (a fix at a chunk's first or last byte, CR and LF in different
    // chunks, empty chunks) must come out byte for byte as the reference's.
    const alphabets: string[][] = [
      [".", "\r", "\n"],
      ["\r\n.", "\r\n", ".", "a"],
      ["\r\n", "\n", "..", "x"],
      ["abcdefgh", "\r\n", "\r\n", ".", "\n"],
      ["line of text ", "\r\n", "\xe9\xff", "\r"],
      ["plain text line\r\n"],
    ];
    const same = (a: Buffer, b: Buffer): void => expect(a.toString("latin1")).toBe(b.toString("latin1"));
    for (let seed = 1; seed <= 400; seed++) {
      it(`seed ${seed}`, () => {
        const next = rng(seed * 7919);
        const alphabet = alphabets[seed % alphabets.length] ?? [];
        let body = "";
        const tokens = Math.floor(next() * (seed % 10 === 0 ? 3000 : 200));
        for (let t = 0; t < tokens; t++) body += alphabet[Math.floor(next() * alphabet.length)];
        const input = Buffer.from(body, "latin1");
        const enc = new DataEncoder();
        const ref = new ReferenceDataEncoder();
        const spread = [1, 2, 3, 8, 64, 4096][seed % 6] ?? 8;
        const chunks = seed % 7 === 0 ? [input] : randomChunks(input, seed, spread + 1, true);
        for (const chunk of chunks) {
          // Every other seed feeds plain Uint8Arrays that view a larger buffer (not Buffers).
          const padded = Buffer.concat([Buffer.from("zz"), chunk, Buffer.from("zz")]);
          const feed = seed % 2 === 0 ? chunk : new Uint8Array(padded.buffer, padded.byteOffset + 2, chunk.length);
          same(enc.push(feed), ref.push(Buffer.from(chunk)));
        }
        same(enc.end(), ref.end());
        expect(enc.inputBytes).toBe(ref.inputBytes);
      });
    }
  });

  it("returns the input itself when nothing needs stuffing or a CR", () => {
    const enc = new DataEncoder();
    const a = Buffer.from("Subject: x\r\n\r\nbody. with dots.\r\n");
    expect(enc.push(a)).toBe(a);
    const b = Buffer.from("\nnext"); // an empty line with a bare LF: copied, with a CR put in
    expect(enc.push(b).toString()).toBe("\r\nnext");
    expect(enc.end().toString()).toBe("\r\n.\r\n");
  });

  it("refuses use after end", () => {
    const enc = new DataEncoder();
    enc.end();
    expect(() => enc.push(Buffer.from("x"))).toThrow();
    expect(() => enc.end()).toThrow();
  });

  it("encodeData and hasEightBit", () => {
    expect(encodeData(Buffer.from(".x")).toString()).toBe("..x\r\n.\r\n");
    expect(hasEightBit(Buffer.from("plain\r\n"))).toBe(false);
    expect(hasEightBit(Buffer.from("Grüße"))).toBe(true);
    const big = Buffer.alloc(100_000, 0x61);
    big[99_999] = 0x80;
    expect(hasEightBit(big)).toBe(true);
    expect(hasEightBit(big.subarray(0, 99_999))).toBe(false);
    expect(hasEightBit(new Uint8Array([0x41, 0xff]).subarray(0, 1))).toBe(false);
  });
});
