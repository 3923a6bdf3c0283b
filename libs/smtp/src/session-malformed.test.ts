/**
 * Hostile and malformed input, in one table (issue #4, "Done when" 1): NUL
 * bytes, 10 MB lines, bare CR/LF sequences, commands out of order and
 * pipelining without the extension. Every case runs with every split of its
 * reads (the replies must not depend on how TCP cut the input) and, second,
 * through a driver that measures what the engine holds: input buffered after
 * each read and output queued per read stay bounded whatever the client sends.
 */
import { SmtpServerSession } from "./session";
import { b64, decide, drive, type Read, splitters } from "./testing/driver";
import { type SessionOptions } from "./types";

const MB = 1024 * 1024;
const base: SessionOptions = { hostname: "mx.test", maxMessageSize: 20 * MB, maxErrors: 50, tlsAvailable: true };
const ehlo = "EHLO client.example\r\n";
const mail = "MAIL FROM:<a@example.org>\r\n";
const rcpt = "RCPT TO:<b@example.net>\r\n";
const ok = ["220", "250", "250 2.1.0", "250 2.1.5"];
const big = (n: number, fill: string): string => fill.repeat(Math.ceil(n / fill.length)).slice(0, n);
const tenMb = 10 * MB;

interface Case {
  name: string;
  /** the client's writes, each one read */
  reads: Read[];
  options?: Partial<SessionOptions>;
  /** every reply, the banner included */
  want: string[];
  wantClosed?: boolean;
  wantBody?: string;
  /** feed reads with endOfRead (the synchronisation check judges them); default false */
  timed?: boolean;
  /** skip the split variants (10 MB inputs: one split is enough) */
  large?: boolean;
}

const cases: Case[] = [
  // NUL bytes
  { name: "NUL alone on a line", reads: ["\u0000\r\nNOOP\r\n"], want: ["220", "500 5.5.2", "250 2.0.0"] },
  { name: "NUL inside the verb", reads: ["NO\u0000OP\r\nNOOP\r\n"], want: ["220", "500 5.5.2", "250 2.0.0"] },
  { name: "NUL in EHLO's argument", reads: ["EHLO a\u0000b\r\n"], want: ["220", "500 5.5.2"] },
  { name: "NUL in the sender", reads: [`${ehlo}MAIL FROM:<a\u0000b@example.org>\r\n${mail}`], want: ["220", "250", "500 5.5.2", "250 2.1.0"] },
  { name: "NUL in the recipient", reads: [`${ehlo}${mail}RCPT TO:<b\u0000@example.net>\r\n${rcpt}`], want: [...ok.slice(0, 3), "500 5.5.2", "250 2.1.5"] },
  { name: "NUL before CRLF of DATA", reads: [`${ehlo}${mail}${rcpt}DATA\u0000\r\n`], want: [...ok, "500 5.5.2"] },
  {
    name: "NUL in the message body is content (the adapter sees info.nul)",
    reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, "a\u0000b\r\n.\r\n"],
    want: [...ok, "354", "250 2.0.0"],
    wantBody: "a\u0000b\r\n",
  },
  { name: "NUL in a BDAT chunk is content", reads: [`${ehlo}${mail}${rcpt}BDAT 3 LAST\r\n\u0000\u0000\u0000`], want: [...ok, "250 2.0.0"], wantBody: "\u0000\u0000\u0000" },
  { name: "a line of NULs over the limit", reads: [`${big(4096, "\u0000")}\r\nNOOP\r\n`], want: ["220", "500 5.5.2", "250 2.0.0"] },
  {
    name: "NUL in an AUTH response",
    reads: [ehlo, `AUTH PLAIN\r\n`, `${b64("\u0000user\u0000se\u0000cret")}\r\n`],
    options: { auth: true, allowInsecureAuth: true },
    want: ["220", "250", "334", "501 5.5.2"],
  },

  // 10 MB lines
  { name: "10 MB command line, then in sync", reads: [`NOOP ${big(tenMb, "x")}\r\nNOOP\r\n`], want: ["220", "500 5.5.2", "250 2.0.0"], large: true },
  { name: "10 MB without any LF, then a line", reads: [big(tenMb, "A"), "\r\nNOOP\r\n"], want: ["220", "500 5.5.2", "250 2.0.0"], large: true },
  { name: "10 MB sender", reads: [`${ehlo}MAIL FROM:<${big(tenMb, "a")}@example.org>\r\n${mail}`], want: ["220", "250", "500 5.5.2", "250 2.1.0"], large: true },
  { name: "10 MB of LF only: one error each, then closed", reads: [big(tenMb, "\n")], options: { maxErrors: 5 }, want: ["220", ...Array<string>(4).fill("500 5.5.2"), "421 4.7.0"], wantClosed: true, large: true },
  {
    name: "10 MB line in DATA is content (long lines are the adapter's concern)",
    reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, `${big(tenMb, "y")}\r\n.\r\nNOOP\r\n`],
    want: [...ok, "354", "250 2.0.0", "250 2.0.0"],
    large: true,
  },
  {
    name: "10 MB line in DATA over message_size_limit: 552, in sync",
    reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, `${big(tenMb, "y")}\r\n.\r\nNOOP\r\n`],
    options: { maxMessageSize: MB },
    want: [...ok, "354", "552 5.3.4", "250 2.0.0"],
    large: true,
  },
  {
    name: "10 MB AUTH exchange line: 500 5.5.6",
    reads: [ehlo, "AUTH LOGIN\r\n", `${big(tenMb, "Q")}\r\nNOOP\r\n`],
    options: { auth: true, allowInsecureAuth: true },
    want: ["220", "250", "334", "500 5.5.6", "250 2.0.0"],
    large: true,
  },

  // bare CR and LF
  { name: "bare LF ends a command line", reads: [`EHLO x\n${mail.replace("\r\n", "\n")}`], want: ["220", "250", "250 2.1.0"] },
  { name: "CR CR LF", reads: ["NOOP\r\r\nNOOP\r\n"], want: ["220", "500 5.5.2", "250 2.0.0"] },
  { name: "bare CR in the middle", reads: ["NOOP\rQUIT\r\n"], want: ["220", "500 5.5.2"] },
  { name: "lone CRs then CRLF", reads: ["\r\r\r\r\n"], want: ["220", "500 5.5.2"] },
  { name: "empty lines", reads: ["\r\n\n\r\n"], want: ["220", "500 5.5.2", "500 5.5.2", "500 5.5.2"] },
  {
    name: "LF.LF in DATA: not the end; bare LF refused at the real end",
    reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, `x\n.\n${mail}${rcpt}DATA\r\nsmuggled\r\n.\r\nNOOP\r\n`],
    want: [...ok, "354", "550 5.6.0", "250 2.0.0"],
  },
  { name: "CR.CR in DATA: not the end", reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, "x\r.\rQUIT\r\n.\r\nNOOP\r\n"], want: [...ok, "354", "550 5.6.0", "250 2.0.0"] },
  { name: "CRLF.LF in DATA: not the end", reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, "x\r\n.\nNOOP\r\n.\r\n"], want: [...ok, "354", "550 5.6.0"] },
  { name: "LF.CRLF in DATA: not the end", reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, "x\n.\r\nNOOP\r\n.\r\n"], want: [...ok, "354", "550 5.6.0"] },
  { name: "CRLF.CR CRLF in DATA: not the end", reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, "x\r\n.\r\r\n.\r\n"], want: [...ok, "354", "550 5.6.0"] },

  // text line length (maxTextLine; RFC 5321 4.5.3.1.6)
  {
    name: "998 octets per message line is the standard's limit: accepted",
    reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, `${big(998, "t")}\r\n.\r\n`],
    options: { maxTextLine: 998 },
    want: [...ok, "354", "250 2.0.0"],
  },
  {
    name: "999 octets in a message line: 500 5.5.2 at the end, in sync",
    reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, `a\r\n${big(999, "t")}\r\nb\r\n.\r\nNOOP\r\n`],
    options: { maxTextLine: 998 },
    want: [...ok, "354", "500 5.5.2", "250 2.0.0"],
  },
  { name: "a long line in the last BDAT chunk", reads: [`${ehlo}${mail}${rcpt}BDAT 1002 LAST\r\n${big(1000, "t")}\r\n`], options: { maxTextLine: 998 }, want: [...ok, "500 5.5.2"] },
  { name: "no limit by default", reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, `${big(5000, "t")}\r\n.\r\n`], want: [...ok, "354", "250 2.0.0"] },

  // commands out of order
  { name: "DATA before EHLO", reads: ["DATA\r\n"], want: ["220", "503 5.5.1"] },
  { name: "RCPT before EHLO", reads: [rcpt], want: ["220", "503 5.5.1"] },
  { name: "BDAT before MAIL", reads: [`${ehlo}BDAT 3 LAST\r\nabcNOOP\r\n`], want: ["220", "250", "503 5.5.1", "250 2.0.0"] }, // the refused chunk is read and thrown away (RFC 3030)
  { name: "BDAT before RCPT", reads: [`${ehlo}${mail}BDAT 3 LAST\r\nabc`], want: ["220", "250", "250 2.1.0", "503 5.5.1"] },
  { name: "DATA after BDAT", reads: [`${ehlo}${mail}${rcpt}BDAT 3\r\nabcDATA\r\n`], want: [...ok, "250 2.0.0", "503 5.5.1"] },
  { name: "MAIL after BDAT", reads: [`${ehlo}${mail}${rcpt}BDAT 3\r\nabc${mail}`], want: [...ok, "250 2.0.0", "503 5.5.1"] },
  { name: "STARTTLS in a transaction", reads: [`${ehlo}${mail}STARTTLS\r\n`], want: ["220", "250", "250 2.1.0", "503 5.5.1"] },
  { name: "AUTH before EHLO", reads: ["AUTH PLAIN\r\n"], options: { auth: true, allowInsecureAuth: true }, want: ["220", "503 5.5.1"] },
  { name: "RCPT after the message (transaction over)", reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, `x\r\n.\r\n${rcpt}`], want: [...ok, "354", "250 2.0.0", "503 5.5.1"] },
  { name: "QUIT inside DATA is content", reads: [`${ehlo}${mail}${rcpt}DATA\r\n`, "QUIT\r\n.\r\n"], want: [...ok, "354", "250 2.0.0"], wantBody: "QUIT\r\n" },
  { name: "second EHLO drops the transaction", reads: [`${ehlo}${mail}${rcpt}${ehlo}DATA\r\n`], want: [...ok, "250", "503 5.5.1"] },

  // pipelining without the extension (Exim's synchronisation check: reads fed with endOfRead)
  { name: "HELO, then MAIL and RCPT in one read", reads: ["HELO x\r\n", `${mail}${rcpt}`], timed: true, want: ["220", "250", "554 5.5.0"], wantClosed: true },
  { name: "EHLO without PIPELINING advertised, then a burst", reads: [ehlo, `${mail}${rcpt}DATA\r\n`], options: { extensions: { pipelining: false } }, timed: true, want: ["220", "250", "554 5.5.0"], wantClosed: true },
  { name: "everything in the first read (before the reply to EHLO)", reads: [`${ehlo}${mail}${rcpt}`], timed: true, want: ["220", "554 5.5.0"], wantClosed: true },
  { name: "talking before the banner", reads: ["EHLO x\r\n"], timed: true, want: ["554 5.5.0"], wantClosed: true },
  { name: "with PIPELINING a burst is fine", reads: [ehlo, `${mail}${rcpt}DATA\r\n`, "x\r\n.\r\n"], timed: true, want: [...ok, "354", "250 2.0.0"] },
];

/** The same cases, each with its banner timing for the timed driver. */
const greetBefore = (c: Case): number => (c.name === "talking before the banner" ? 1 : 0);

describe("malformed input", () => {
  for (const [split, fn] of splitters) {
    describe(`split ${split}`, () => {
      test.each(cases.filter((c) => !c.large))("$name", (c) => {
        const got = drive(c.reads, { ...base, ...c.options }, { split: fn, timed: c.timed === true, greetBefore: greetBefore(c) });
        expect(got.replies).toEqual(c.want);
        expect(got.closed).toBe(c.wantClosed ?? false);
        if (c.wantBody !== undefined) expect(got.body).toBe(c.wantBody);
      });
    });
  }

  test.each(cases.filter((c) => c.large === true))("$name (64 KiB reads)", (c) => {
    const got = drive(c.reads, { ...base, ...c.options }, { split: (b) => chunks(b, 65_536), timed: c.timed === true });
    expect(got.replies).toEqual(c.want);
    expect(got.closed).toBe(c.wantClosed ?? false);
  });
});

function chunks(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

/**
 * What an adapter holds for one connection: the engine's unconsumed input
 * after a read is pumped, and the output one read produces. Reads are 64 KiB
 * as node:net delivers them; the synchronisation check is on (the edge's
 * default), so a burst of commands that each end a pipelining group is refused
 * at once rather than answered.
 */
describe("memory per connection is bounded", () => {
  const READ = 65_536;
  // command bursts: 2 MB is 30 reads of 64 KiB, enough to show the bound (10 MB of 6-octet commands takes a minute)
  const burst = 2 * MB;
  const tx = [ehlo, `${mail}${rcpt}DATA\r\n`];
  // [name, reads a correct client makes first (each waits for its replies), then the hostile stream in 64 KiB reads]
  const hostile: Array<[string, string[], Buffer]> = [
    ["a 10 MB command line", [ehlo], Buffer.from(`NOOP ${big(tenMb, "x")}\r\n`)],
    ["10 MB of NUL", [ehlo], Buffer.alloc(tenMb)],
    ["10 MB of bare CR", [ehlo], Buffer.from(big(tenMb, "\r"))],
    ["10 MB of LF", [ehlo], Buffer.from(big(tenMb, "\n"))],
    ["a 10 MB sender", [ehlo], Buffer.from(`MAIL FROM:<${big(tenMb, "a")}@x>\r\n`)],
    ["a 10 MB AUTH line", [ehlo], Buffer.from(`AUTH PLAIN ${big(tenMb, "Q")}\r\n`)],
    ["2 MB of pipelined RSET", [ehlo], Buffer.from(big(burst, "RSET\r\n"))],
    ["2 MB of pipelined RCPT", [ehlo, mail], Buffer.from(big(burst, rcpt))],
    ["2 MB of NOOP (ends a group: sync error)", [ehlo], Buffer.from(big(burst, "NOOP\r\n"))],
    ["2 MB of HELP (pipelinable, 70 octets of reply each)", [ehlo], Buffer.from(big(burst, "HELP\r\n"))],
    ["2 MB of unknown commands", [ehlo], Buffer.from(big(burst, "XYZZY\r\n"))],
    ["a 10 MB message body line", tx, Buffer.from(`${big(tenMb, "z")}\r\n.\r\n`)],
    ["10 MB of message body LF", tx, Buffer.from(`${big(tenMb, "\n")}\r\n.\r\n`)],
    ["a 10 MB BDAT chunk", [ehlo, mail + rcpt], Buffer.from(`BDAT ${tenMb} LAST\r\n${big(tenMb, "z")}`)],
    ["2 MB of BDAT 0 chunks", [ehlo, mail + rcpt], Buffer.from(big(burst, "BDAT 0\r\n"))],
  ];

  test.each(hostile)("%s", (_name, first, input) => {
    const s = new SmtpServerSession({ ...base, auth: true, allowInsecureAuth: true });
    s.greet();
    s.takeOutput();
    let maxBuffered = 0;
    let maxMidRead = 0;
    let maxOutput = 0;
    const reads = [...first.map((r) => Buffer.from(r)), ...chunks(input, READ)];
    for (const read of reads) {
      if (s.closed) break;
      s.feed(read, { endOfRead: true });
      // the adapter's pump: events until none, write the replies, again while the engine stopped at outputFull
      for (;;) {
        for (let ev = s.next(); ev !== null; ev = s.next()) decide(ev, s);
        const full = s.outputFull;
        maxOutput = Math.max(maxOutput, Buffer.byteLength(s.takeOutput()));
        if (!full) break;
        maxMidRead = Math.max(maxMidRead, s.bufferedBytes);
      }
      maxBuffered = Math.max(maxBuffered, s.bufferedBytes);
    }
    // once a read is parsed nothing parseable is left over: at most an unterminated line below the AUTH line limit
    expect(maxBuffered).toBeLessThanOrEqual(12_288);
    // while replies are written, the rest of that one read
    expect(maxMidRead).toBeLessThanOrEqual(READ);
    // replies queued at once: maxOutputBuffer (64 KiB) plus the reply that crossed it
    expect(maxOutput).toBeLessThanOrEqual(65_536 + 1024);
  });

  test("outputFull: parsing stops at maxOutputBuffer and goes on after takeOutput()", () => {
    const s = new SmtpServerSession({ ...base, maxOutputBuffer: 1024 });
    s.greet();
    s.takeOutput();
    s.feed(Buffer.from(`${ehlo}${"RSET\r\n".repeat(200)}`));
    let replies = 0;
    let rounds = 0;
    for (;;) {
      while (s.next() !== null);
      const out = s.takeOutput();
      expect(out.length).toBeLessThanOrEqual(1024 + 200);
      replies += out.split("\r\n").filter((l) => /^\d{3} /.test(l)).length;
      rounds++;
      if (s.bufferedBytes === 0) break;
    }
    expect(replies).toBe(201);
    expect(rounds).toBeGreaterThan(2);
  });
});
