import { replies } from "./replies";
import { SmtpServerSession } from "./session";
import { drive, splitters } from "./testing/driver";
import { type SessionOptions, type SmtpEvent } from "./types";

const base: SessionOptions = { hostname: "mx.test", maxMessageSize: 1000, maxErrors: 10 };
const ehlo = "EHLO client.example\r\n";
const tx = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n";
const ok = ["250", "250 2.1.0", "250 2.1.5"];

interface Case {
  name: string;
  input: string;
  options?: Partial<SessionOptions>;
  /** replies after the banner */
  wantReplies: string[];
  wantBody?: string;
  wantClosed?: boolean;
  /** event types other than "command" and "body" */
  wantEvents?: string[];
}

const cases: Case[] = [
  {
    name: "one chunk with LAST",
    input: `${ehlo}${tx}BDAT 12 LAST\r\nSubject: x\r\n`,
    wantReplies: [...ok, "250 2.0.0"],
    wantBody: "Subject: x\r\n",
    wantEvents: ["mail", "rcpt", "data", "dataEnd"],
  },
  {
    name: "three chunks, a 250 for each",
    input: `${ehlo}${tx}BDAT 3\r\nabcBDAT 3\r\ndefBDAT 2 LAST\r\ngh`,
    wantReplies: [...ok, "250 2.0.0", "250 2.0.0", "250 2.0.0"],
    wantBody: "abcdefgh",
  },
  { name: "no dot-stuffing, CRLF.CRLF is content", input: `${ehlo}${tx}BDAT 9 LAST\r\na\r\n.\r\nb\r\nNOOP\r\n`, wantReplies: [...ok, "250 2.0.0", "250 2.0.0"], wantBody: "a\r\n.\r\nb\r\n" },
  { name: "bare LF and bare CR are allowed", input: `${ehlo}${tx}BDAT 6 LAST\r\na\nb\rc\n`, wantReplies: [...ok, "250 2.0.0"], wantBody: "a\nb\rc\n" },
  { name: "a chunk that looks like commands is content", input: `${ehlo}${tx}BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n`, wantReplies: [...ok, "250 2.0.0", "250 2.0.0"], wantBody: "QUIT\r\n" },
  { name: "BDAT 0 LAST: an empty message", input: `${ehlo}${tx}BDAT 0 LAST\r\n`, wantReplies: [...ok, "250 2.0.0"], wantBody: "", wantEvents: ["mail", "rcpt", "data", "dataEnd"] },
  { name: "BDAT 0, then the content", input: `${ehlo}${tx}BDAT 0\r\nBDAT 2 LAST\r\nhi`, wantReplies: [...ok, "250 2.0.0", "250 2.0.0"], wantBody: "hi" },
  { name: "LAST in lower case", input: `${ehlo}${tx}BDAT 2 last\r\nhi`, wantReplies: [...ok, "250 2.0.0"], wantBody: "hi" },
  {
    name: "over the size limit: 552 after the announced octets, still in sync",
    input: `${ehlo}${tx}BDAT 1200 LAST\r\n${"x".repeat(1200)}NOOP\r\n`,
    wantReplies: [...ok, "552 5.3.4", "250 2.0.0"],
    wantEvents: ["mail", "rcpt", "data", "dataRejected"],
  },
  {
    name: "over the limit in an early chunk: the transaction ends, later chunks get 503 and are skipped",
    input: `${ehlo}${tx}BDAT 1001\r\n${"y".repeat(1001)}BDAT 5 LAST\r\nhelloNOOP\r\n`,
    wantReplies: [...ok, "552 5.3.4", "503 5.5.1", "250 2.0.0"],
    wantEvents: ["mail", "rcpt", "data", "dataRejected", "error"],
  },
  { name: "exactly at the limit", input: `${ehlo}${tx}BDAT 600\r\n${"a".repeat(600)}BDAT 400 LAST\r\n${"b".repeat(400)}`, wantReplies: [...ok, "250 2.0.0", "250 2.0.0"] },
  { name: "BDAT before MAIL: 503, the chunk is skipped", input: `${ehlo}BDAT 6\r\nQUIT\r\nNOOP\r\n`, wantReplies: ["250", "503 5.5.1", "250 2.0.0"], wantBody: "" },
  { name: "BDAT before HELO: 503, skipped", input: "BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n", wantReplies: ["503 5.5.1", "250 2.0.0"] },
  {
    name: "BDAT before RCPT: 503",
    input: `${ehlo}MAIL FROM:<a@example.org>\r\nBDAT 4 LAST\r\nRSETNOOP\r\n`,
    wantReplies: ["250", "250 2.1.0", "503 5.5.1", "250 2.0.0"],
  },
  {
    name: "BDAT when every recipient was refused: 554",
    input: `${ehlo}MAIL FROM:<a@example.org>\r\nRCPT TO:<x@reject.example>\r\nBDAT 4 LAST\r\nRSETNOOP\r\n`,
    wantReplies: ["250", "250 2.1.0", "550 5.7.1", "554 5.5.1", "250 2.0.0"],
  },
  {
    name: "BDAT after HELO (CHUNKING not advertised): 503",
    input: `HELO x\r\n${tx}BDAT 3 LAST\r\nabcNOOP\r\n`,
    wantReplies: ["250", "250 2.1.0", "250 2.1.5", "503 5.5.1", "250 2.0.0"],
  },
  {
    name: "DATA after BDAT: 503, the BDAT transaction goes on",
    input: `${ehlo}${tx}BDAT 3\r\nabcDATA\r\nBDAT 2 LAST\r\nde`,
    wantReplies: [...ok, "250 2.0.0", "503 5.5.1", "250 2.0.0"],
    wantBody: "abcde",
  },
  { name: "RCPT after BDAT: 503", input: `${ehlo}${tx}BDAT 1\r\naRCPT TO:<c@d.example>\r\nBDAT 0 LAST\r\n`, wantReplies: [...ok, "250 2.0.0", "503 5.5.1", "250 2.0.0"] },
  {
    name: "RSET after BDAT ends the transaction",
    input: `${ehlo}${tx}BDAT 3\r\nabcRSET\r\nBDAT 2 LAST\r\nde`,
    wantReplies: [...ok, "250 2.0.0", "250 2.0.0", "503 5.5.1"],
  },
  { name: "the adapter refuses the first chunk: skipped, 451", input: `${ehlo}MAIL FROM:<a@tempfail.example>\r\nRCPT TO:<b@example.net>\r\nBDAT 4\r\nNOOPNOOP\r\n`, wantReplies: [...ok, "451 4.3.0", "250 2.0.0"] },
  { name: "BDAT without a size closes (the chunk end is unknown)", input: `${ehlo}BDAT\r\nNOOP\r\n`, wantReplies: ["250", "501 5.5.4"], wantClosed: true },
  { name: "BDAT with a bad size closes", input: `${ehlo}BDAT 1x\r\n`, wantReplies: ["250", "501 5.5.4"], wantClosed: true },
  { name: "BDAT with a bad keyword closes", input: `${ehlo}BDAT 5 LASTX\r\n`, wantReplies: ["250", "501 5.5.4"], wantClosed: true },
  { name: "BDAT with an unsafe size closes", input: `${ehlo}BDAT 99999999999999999\r\n`, wantReplies: ["250", "501 5.5.4"], wantClosed: true },
  {
    name: "two messages back to back",
    input: `${ehlo}${tx}BDAT 2 LAST\r\nhi${tx}BDAT 1 LAST\r\nxQUIT\r\n`,
    wantReplies: [...ok, "250 2.0.0", "250 2.1.0", "250 2.1.5", "250 2.0.0", "221 2.0.0"],
    wantBody: "hix",
    wantClosed: true,
  },
  {
    name: "CHUNKING off: BDAT is not implemented",
    input: `${ehlo}${tx}BDAT 3 LAST\r\nabc\r\n`,
    options: { extensions: { chunking: false } },
    wantReplies: [...ok, "502 5.5.1", "500 5.5.2"],
  },
  {
    name: "BINARYMIME: BDAT only, DATA refused",
    input: `${ehlo}MAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<b@example.net>\r\nDATA\r\nBDAT 3 LAST\r\n\u0000\u00ff\n`,
    options: { extensions: { binaryMime: true } },
    wantReplies: [...ok, "503 5.5.1", "250 2.0.0"],
    wantBody: "\u0000\u00ff\n",
  },
  { name: "BINARYMIME not offered: refused", input: `${ehlo}MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n`, wantReplies: ["250", "501 5.5.4"] },
];

const types = (events: SmtpEvent[]): string[] => events.filter((e) => e.type !== "command").map((e) => e.type);

describe("BDAT (RFC 3030)", () => {
  for (const [split, fn] of splitters) {
    describe(split, () => {
      test.each(cases)("$name", (c) => {
        const got = drive([c.input], { ...base, ...c.options }, { split: fn });
        expect(got.replies.slice(1)).toEqual(c.wantReplies);
        if (c.wantBody !== undefined) expect(got.body).toBe(c.wantBody);
        expect(got.closed).toBe(c.wantClosed ?? false);
        if (c.wantEvents !== undefined) expect(types(got.events)).toEqual(c.wantEvents);
      });
    });
  }

  test("the output does not depend on how the input is split", () => {
    for (const c of cases) {
      const outputs = splitters.map(([, fn]) => drive([c.input], { ...base, ...c.options }, { split: fn }).output);
      expect(new Set(outputs).size).toBe(1);
    }
  });
});

describe("BDAT API", () => {
  const start = (o: Partial<SessionOptions> = {}): SmtpServerSession => {
    const s = new SmtpServerSession({ ...base, ...o });
    s.feed(Buffer.from(`${ehlo}${tx}`));
    for (let ev = s.next(); ev !== null; ev = s.next()) {
      if (ev.type === "mail") s.respond(replies.senderOk);
      if (ev.type === "rcpt") s.respond(replies.recipientOk);
    }
    s.takeOutput();
    return s;
  };

  test("events: data (via BDAT), body, command per chunk, dataEnd with info", () => {
    const s = start();
    s.feed(Buffer.from("BDAT 4\r\na\nbc"));
    expect(s.next()).toMatchObject({ type: "data", via: "BDAT" });
    s.respond(replies.startData);
    expect(s.inData).toBe(true);
    expect(s.next()).toEqual({ type: "body", chunk: Buffer.from("a\nbc") });
    expect(s.next()).toEqual({ type: "command", command: { verb: "BDAT", size: 4, last: false }, reply: replies.chunkReceived(4) });
    expect(s.inData).toBe(false);
    s.feed(Buffer.from("BDAT 1 LAST\r\n\r"));
    expect(s.next()?.type).toBe("body");
    expect(s.next()).toMatchObject({ type: "dataEnd", via: "BDAT", info: { size: 5, bareLf: true, bareCr: true, sizeExceeded: false } });
    s.respond(replies.accepted("X"));
    expect(s.takeOutput()).toBe("250 2.0.0 4 octets received\r\n250 2.0.0 OK id=X\r\n");
    expect(s.transaction).toBeNull();
  });

  test("a 10 MB chunk is streamed, never buffered", () => {
    const s = start({ maxMessageSize: 20 << 20 });
    s.feed(Buffer.from(`BDAT ${10 << 20} LAST\r\n`));
    expect(s.next()?.type).toBe("data");
    s.respond(replies.startData);
    let bytes = 0;
    let end: SmtpEvent | null = null;
    for (let i = 0; i < 160; i++) {
      s.feed(Buffer.alloc(65536, 0x41));
      for (let ev = s.next(); ev !== null; ev = s.next()) {
        if (ev.type === "body") bytes += ev.chunk.length;
        else end = ev;
      }
      expect(s.bufferedBytes).toBe(0);
    }
    expect(bytes).toBe(10 << 20);
    expect(end).toMatchObject({ type: "dataEnd", info: { size: 10 << 20, longLines: true } });
  });

  test("over the limit nothing more is emitted", () => {
    const s = start();
    s.feed(Buffer.from("BDAT 2000 LAST\r\n"));
    s.next();
    s.respond(replies.startData);
    s.feed(Buffer.alloc(2000, 0x42));
    const events: SmtpEvent[] = [];
    for (let ev = s.next(); ev !== null; ev = s.next()) events.push(ev);
    expect(events.map((e) => e.type)).toEqual(["dataRejected"]);
    expect(events[0]).toMatchObject({ reason: "size", via: "BDAT", info: { size: 2000, sizeExceeded: true } });
  });
});
