import { DataDecoder, type DataInfo, type DataWriteResult } from "./data";
import { ReferenceDataDecoder } from "./testing/data-reference";
import { makeSplitters, rng } from "./testing/split";

const splitters = makeSplitters([1, 2, 3, 4, 5], 7);

/** Feeds chunks until done; returns the body, whether done, the unconsumed rest and the info. */
function decode(chunks: Buffer[], maxSize: number): { body: string; done: boolean; rest: string; info: DataInfo } {
  const d = new DataDecoder(maxSize);
  const body: Buffer[] = [];
  const rest: Buffer[] = [];
  let done = false;
  for (const c of chunks) {
    if (done) {
      rest.push(c);
      continue;
    }
    const r = d.write(c, 0);
    body.push(...r.chunks);
    if (r.done) {
      done = true;
      rest.push(c.subarray(r.end));
    }
  }
  return { body: Buffer.concat(body).toString("latin1"), done, rest: Buffer.concat(rest).toString("latin1"), info: d.info() };
}

interface Case {
  name: string;
  input: string;
  wantBody: string;
  wantDone?: boolean;
  wantRest?: string;
  wantFlags?: Partial<DataInfo>;
  maxSize?: number;
}

const cases: Case[] = [
  { name: "empty message", input: ".\r\n", wantBody: "" },
  { name: "one line", input: "Subject: x\r\n\r\nhi\r\n.\r\n", wantBody: "Subject: x\r\n\r\nhi\r\n" },
  { name: "rest after terminator stays", input: "a\r\n.\r\nQUIT\r\n", wantBody: "a\r\n", wantRest: "QUIT\r\n" },
  { name: "dot-unstuffing", input: "..a\r\n...\r\n.\r\n", wantBody: ".a\r\n..\r\n" },
  { name: "dot not at line start kept", input: "a.b\r\n.\r\n", wantBody: "a.b\r\n" },
  { name: "dot alone then text", input: ".x\r\n.\r\n", wantBody: "x\r\n" },
  { name: "no terminator", input: "abc\r\n", wantBody: "abc\r\n", wantDone: false },
  { name: "half terminator", input: "abc\r\n.\r", wantBody: "abc\r\n", wantDone: false },
  { name: "LF.LF is content (bare LF)", input: "a\n.\nb\r\n.\r\n", wantBody: "a\n.\nb\r\n", wantFlags: { bareLf: true } },
  { name: "CR.CR is content (bare CR)", input: "a\r.\rb\r\n.\r\n", wantBody: "a\r.\rb\r\n", wantFlags: { bareCr: true } },
  { name: "CRLF.LF is content", input: "a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", wantBody: "a\r\n\nMAIL FROM:<x@y>\r\n", wantFlags: { bareLf: true } },
  { name: "LF.CRLF is content", input: "a\n.\r\nb\r\n.\r\n", wantBody: "a\n.\r\nb\r\n", wantFlags: { bareLf: true } },
  { name: "dot CR x at line start", input: ".\rx\r\n.\r\n", wantBody: "\rx\r\n", wantFlags: { bareCr: true } },
  { name: "dot CR CR LF", input: ".\r\r\n.\r\n", wantBody: "\r\r\n", wantFlags: { bareCr: true } },
  { name: "bare LF at start", input: "\n.\r\n", wantBody: "\n.\r\n", wantDone: false, wantFlags: { bareLf: true } },
  { name: "CRLF CRLF dot", input: "\r\n\r\n.\r\n", wantBody: "\r\n\r\n" },
  { name: "no bare flags on clean body", input: "a\r\nb\r\n.\r\n", wantBody: "a\r\nb\r\n", wantFlags: { bareCr: false, bareLf: false, longLines: false } },
  { name: "long line flagged", input: `${"x".repeat(999)}\r\n.\r\n`, wantBody: `${"x".repeat(999)}\r\n`, wantFlags: { longLines: true } },
  { name: "998 is fine", input: `${"x".repeat(998)}\r\n.\r\n`, wantBody: `${"x".repeat(998)}\r\n`, wantFlags: { longLines: false } },
  { name: "stuffed dot counts toward line length", input: `.${"x".repeat(998)}\r\n.\r\n`, wantBody: `${"x".repeat(998)}\r\n`, wantFlags: { longLines: true } },
  { name: "8bit and NUL", input: "\u00e9\u0000\r\n.\r\n", wantBody: "\u00e9\u0000\r\n", wantFlags: { eightBit: true, nul: true } },
  { name: "size counted after unstuffing", input: "..\r\n.\r\n", wantBody: ".\r\n", wantFlags: { size: 3, sizeExceeded: false } },
  { name: "size limit: output stops, stream consumed", input: "0123456789\r\nabc\r\n.\r\nNOOP\r\n", wantBody: "", maxSize: 5, wantRest: "NOOP\r\n", wantFlags: { size: 17, sizeExceeded: true } },
  { name: "exactly at limit", input: "abc\r\n.\r\n", wantBody: "abc\r\n", maxSize: 5, wantFlags: { sizeExceeded: false } },
];

describe("DataDecoder", () => {
  for (const [split, fn] of splitters) {
    describe(split, () => {
      test.each(cases)("$name", (c) => {
        const max = c.maxSize ?? 1 << 20;
        const got = decode(fn(Buffer.from(c.input, "latin1")), max);
        // over the limit, chunks already emitted before the limit was hit depend on the split
        if (!(c.wantFlags?.sizeExceeded ?? false)) expect(got.body).toBe(c.wantBody);
        expect(got.body.length).toBeLessThanOrEqual(max);
        expect(got.done).toBe(c.wantDone ?? true);
        expect(got.rest).toBe(c.wantRest ?? "");
        expect(got.info).toMatchObject(c.wantFlags ?? {});
      });
    });
  }

  test("appending bytes after the terminator does not change what is consumed", () => {
    for (const c of cases.filter((x) => (x.wantDone ?? true) && x.wantRest === undefined)) {
      const input = Buffer.from(c.input + "RSET\r\n", "latin1");
      const d = new DataDecoder(1 << 20);
      const r = d.write(input, 0);
      expect(r.done).toBe(true);
      expect(input.subarray(r.end).toString()).toBe("RSET\r\n");
    }
  });

  test("dropping the terminator leaves the decoder waiting", () => {
    for (const c of cases.filter((x) => (x.wantDone ?? true) && x.wantRest === undefined)) {
      const r = new DataDecoder(1 << 20).write(Buffer.from(c.input.slice(0, -3), "latin1"), 0);
      expect(r.done).toBe(false);
    }
  });

  test("start offset is honoured", () => {
    const r = new DataDecoder(100).write(Buffer.from("DATA\r\nx\r\n.\r\n"), 6);
    expect(Buffer.concat(r.chunks).toString()).toBe("x\r\n");
    expect(r.done).toBe(true);
  });
});

describe("DataDecoder against the byte-by-byte reference (the fast path changes nothing)", () => {
  // octets the decoder treats specially come often; long plain runs too
  const pieces = ["\r\n", "\r", "\n", ".", "\r\n.", "\r\n.\r", "\r\n..", "\u0000", "\u00e9", "x", "plain text ", "y".repeat(40), "z".repeat(1_100)];

  const run = (decoder: { write(input: Buffer, start: number): DataWriteResult; info(): DataInfo }, reads: Buffer[]) => {
    const out: { body: string; ends: number[]; done: boolean } = { body: "", ends: [], done: false };
    for (const r of reads) {
      if (out.done) break;
      const w = decoder.write(r, 0);
      out.body += Buffer.concat(w.chunks).toString("latin1");
      out.ends.push(w.end);
      out.done = w.done;
    }
    return { ...out, info: decoder.info() };
  };

  test.each(Array.from({ length: 400 }, (_, seed) => seed))("seed %i", (seed) => {
    const random = rng(seed + 1);
    let text = "";
    const parts = 5 + Math.floor(random() * 60);
    for (let n = 0; n < parts; n++) text += pieces[Math.floor(random() * pieces.length)];
    // what follows the end of data (8-bit, NUL) must not count for the message
    if (random() < 0.7) text += `\r\n.\r\nQUIT\r\n${random() < 0.5 ? "\u00e9\u0000" : ""}`;
    const input = Buffer.from(text, "latin1");
    const reads: Buffer[] = [];
    for (let at = 0; at < input.length; ) {
      const n = 1 + Math.floor(random() * (random() < 0.5 ? 8 : 2_000));
      reads.push(input.subarray(at, at + n));
      at += n;
    }
    const max = random() < 0.2 ? Math.floor(random() * input.length) : 1 << 20;
    const lineMax = random() < 0.5 ? 998 : 30;
    expect(run(new DataDecoder(max, lineMax), reads)).toEqual(run(new ReferenceDataDecoder(max, lineMax), reads));
  });
});
