import { type Reply } from "./reply";
import { replies } from "./replies";
import { SmtpServerSession } from "./session";
import { makeSplitters } from "./testing/split";
import { type SessionOptions, type SmtpEvent } from "./types";

const splitters = makeSplitters([7, 8, 9], 40);

const baseOptions: SessionOptions = { hostname: "mx.test", maxMessageSize: 1000, maxRecipients: 3, maxErrors: 5 };

/** Default adapter: accepts everything except recipients at reject.example. */
function decide(ev: SmtpEvent): Reply | null {
  switch (ev.type) {
    case "mail":
      return replies.senderOk;
    case "rcpt":
      return ev.command.recipient.domain === "reject.example" ? replies.relayDenied : replies.recipientOk;
    case "data":
      return replies.startData;
    case "dataEnd":
      return replies.accepted("ID1");
    default:
      return null;
  }
}

interface Run {
  output: string;
  replies: string[];
  events: SmtpEvent[];
  body: string;
  closed: boolean;
}

function drive(chunks: Buffer[], options: SessionOptions): Run {
  const s = new SmtpServerSession(options);
  s.greet();
  const events: SmtpEvent[] = [];
  const body: Buffer[] = [];
  let output = s.takeOutput();
  for (const chunk of chunks) {
    s.feed(chunk);
    for (let ev = s.next(); ev !== null; ev = s.next()) {
      if (ev.type === "body") body.push(ev.chunk);
      else events.push(ev);
      const r = decide(ev);
      if (r !== null) s.respond(r);
    }
    output += s.takeOutput();
  }
  return { output, replies: summarize(output).slice(1), events, body: Buffer.concat(body).toString("latin1"), closed: s.closed };
}

/** "250 2.1.0" per reply (the code alone when it has no enhanced code). */
function summarize(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split("\r\n")) {
    if (line.length < 3 || line[3] === "-") continue;
    const m = /^(\d{3}) ([245]\.\d+\.\d+) /.exec(line);
    out.push(m ? `${m[1]} ${m[2]}` : line.slice(0, 3));
  }
  return out;
}

interface Case {
  name: string;
  input: string;
  /** encode input as latin1 (raw bytes) instead of UTF-8 */
  latin1?: boolean;
  options?: Partial<SessionOptions>;
  wantReplies: string[];
  wantBody?: string;
  wantClosed?: boolean;
  wantEvents?: string[];
}

const ehlo = "EHLO client.example\r\n";
const tx = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n";
const ok = ["250", "250 2.1.0", "250 2.1.5"];

const cases: Case[] = [
  {
    name: "pipelined transaction then QUIT",
    input: `${ehlo}${tx}DATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n`,
    wantReplies: [...ok, "354", "250 2.0.0", "221 2.0.0"],
    wantBody: "Subject: hi\r\n\r\n.dot\r\n",
    wantClosed: true,
    wantEvents: ["command", "mail", "rcpt", "data", "dataEnd", "command"],
  },
  { name: "lower-case verbs", input: "ehlo x\r\nmail from:<a@b>\r\nrcpt to:<c@d>\r\nquit\r\n", wantReplies: [...ok, "221 2.0.0"], wantClosed: true },
  { name: "bare LF ends command lines", input: "EHLO x\nNOOP\n", wantReplies: ["250", "250 2.0.0"] },
  { name: "space after colon tolerated", input: `${ehlo}MAIL FROM: <a@b>\r\n`, wantReplies: ["250", "250 2.1.0"] },
  { name: "MAIL before HELO", input: "MAIL FROM:<a@b>\r\n", wantReplies: ["503 5.5.1"] },
  { name: "RCPT before MAIL", input: `${ehlo}RCPT TO:<a@b>\r\n`, wantReplies: ["250", "503 5.5.1"] },
  { name: "RCPT before HELO", input: "RCPT TO:<a@b>\r\n", wantReplies: ["503 5.5.1"] },
  { name: "DATA before MAIL", input: `${ehlo}DATA\r\n`, wantReplies: ["250", "503 5.5.1"] },
  { name: "DATA before RCPT", input: `${ehlo}MAIL FROM:<a@b>\r\nDATA\r\n`, wantReplies: ["250", "250 2.1.0", "503 5.5.1"] },
  {
    name: "DATA after all RCPT refused, body lines become commands",
    input: `${ehlo}MAIL FROM:<a@b>\r\nRCPT TO:<x@reject.example>\r\nDATA\r\nhello\r\n.\r\n`,
    wantReplies: ["250", "250 2.1.0", "550 5.7.1", "554 5.5.1", "500 5.5.2", "500 5.5.2"],
  },
  { name: "nested MAIL", input: `${ehlo}MAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\n`, wantReplies: ["250", "250 2.1.0", "503 5.5.1"] },
  { name: "RSET clears the transaction", input: `${ehlo}${tx}RSET\r\nRCPT TO:<c@d>\r\n`, wantReplies: [...ok, "250 2.0.0", "503 5.5.1"] },
  { name: "EHLO clears the transaction", input: `${ehlo}${tx}${ehlo}DATA\r\n`, wantReplies: [...ok, "250", "503 5.5.1"] },
  { name: "RSET with argument", input: "RSET x\r\n", wantReplies: ["501 5.5.2"] },
  { name: "DATA with argument", input: `${ehlo}${tx}DATA x\r\n`, wantReplies: [...ok, "501 5.5.2"] },
  { name: "EHLO without name", input: "EHLO\r\n", wantReplies: ["501 5.5.2"] },
  { name: "NOOP with argument", input: "NOOP hello\r\n", wantReplies: ["250 2.0.0"] },
  { name: "HELP", input: "HELP\r\n", wantReplies: ["214 2.0.0"] },
  { name: "VRFY disabled", input: "VRFY root\r\n", wantReplies: ["502 5.5.1"] },
  { name: "VRFY cannot verify", input: "VRFY root\r\nVRFY\r\n", options: { vrfy: "cannot-verify" }, wantReplies: ["252 2.0.0", "501 5.5.2"] },
  { name: "unknown command", input: "FOO\r\n", wantReplies: ["500 5.5.2"] },
  { name: "empty line", input: "\r\n", wantReplies: ["500 5.5.2"] },
  { name: "EXPN not implemented", input: "EXPN list\r\nSTARTTLS\r\n", wantReplies: ["502 5.5.1", "502 5.5.1"] },
  { name: "NUL in a command", input: "NOOP a\u0000b\r\nNOOP\r\n", wantReplies: ["500 5.5.2", "250 2.0.0"] },
  { name: "bare CR inside a command", input: "NOOP a\rb\r\n", wantReplies: ["500 5.5.2"] },
  { name: "invalid UTF-8 in a command", input: "NOOP \u00ff\r\n", latin1: true, wantReplies: ["500 5.5.2"] },
  { name: "line too long keeps sync", input: `NOOP ${"x".repeat(600)}\r\nNOOP\r\n`, wantReplies: ["500 5.5.2", "250 2.0.0"] },
  { name: "512 octets is allowed", input: `NOOP ${"x".repeat(505)}\r\n`, wantReplies: ["250 2.0.0"] },
  { name: "513 octets is not", input: `NOOP ${"x".repeat(506)}\r\nNOOP\r\n`, wantReplies: ["500 5.5.2", "250 2.0.0"] },
  { name: "bad sender syntax", input: `${ehlo}MAIL FROM:a@b\r\nMAIL FROM:<a@@b>\r\nMAIL TO:<a@b>\r\n`, wantReplies: ["250", "501 5.1.7", "501 5.1.7", "501 5.5.2"] },
  { name: "bad recipient syntax", input: `${ehlo}MAIL FROM:<>\r\nRCPT TO:<>\r\nRCPT TO:b@c\r\n`, wantReplies: ["250", "250 2.1.0", "501 5.1.3", "501 5.1.3"] },
  { name: "Postmaster without domain", input: `${ehlo}MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\n`, wantReplies: ["250", "250 2.1.0", "250 2.1.5"] },
  { name: "unknown MAIL parameter", input: `${ehlo}MAIL FROM:<a@b> XFOO=1\r\n`, wantReplies: ["250", "555 5.5.4"] },
  { name: "parameters after HELO", input: "HELO x\r\nMAIL FROM:<a@b> SIZE=10\r\n", wantReplies: ["250", "555 5.5.4"] },
  { name: "SIZE over the limit", input: `${ehlo}MAIL FROM:<a@b> SIZE=1001\r\nMAIL FROM:<a@b> SIZE=1000\r\n`, wantReplies: ["250", "552 5.3.4", "250 2.1.0"] },
  {
    name: "body over the limit is consumed then refused",
    input: `${ehlo}${tx}DATA\r\n${"x".repeat(990)}\r\n${"y".repeat(100)}\r\n.\r\nNOOP\r\n`,
    wantReplies: [...ok, "354", "552 5.3.4", "250 2.0.0"],
    wantEvents: ["command", "mail", "rcpt", "data", "dataRejected", "command"],
  },
  {
    name: "bare LF in body: refused, LF.LF does not end data (smuggling)",
    input: `${ehlo}${tx}DATA\r\nhello\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nforged\r\n.\r\nNOOP\r\n`,
    wantReplies: [...ok, "354", "550 5.6.0", "250 2.0.0"],
    wantEvents: ["command", "mail", "rcpt", "data", "dataRejected", "command"],
  },
  {
    name: "bare CR in body: refused",
    input: `${ehlo}${tx}DATA\r\nhello\r.\rworld\r\n.\r\n`,
    wantReplies: [...ok, "354", "550 5.6.0"],
  },
  {
    name: "transaction ends with the message: MAIL again is fine",
    input: `${ehlo}${tx}DATA\r\nx\r\n.\r\n${tx}`,
    wantReplies: [...ok, "354", "250 2.0.0", "250 2.1.0", "250 2.1.5"],
  },
  {
    name: "too many recipients",
    input: `${ehlo}MAIL FROM:<a@b>\r\n${"RCPT TO:<r@example.org>\r\n".repeat(4)}`,
    wantReplies: ["250", "250 2.1.0", "250 2.1.5", "250 2.1.5", "250 2.1.5", "452 4.5.3"],
  },
  {
    name: "refused recipients do not count toward the limit",
    input: `${ehlo}MAIL FROM:<a@b>\r\n${"RCPT TO:<r@reject.example>\r\n".repeat(3)}RCPT TO:<r@example.org>\r\n`,
    wantReplies: ["250", "250 2.1.0", "550 5.7.1", "550 5.7.1", "550 5.7.1", "250 2.1.5"],
  },
  {
    name: "UTF-8 address needs SMTPUTF8",
    input: `${ehlo}MAIL FROM:<δοκιμή@example.org>\r\nMAIL FROM:<a@b>\r\nRCPT TO:<用户@例子.广告>\r\n`,
    wantReplies: ["250", "553 5.6.7", "250 2.1.0", "553 5.6.7"],
  },
  {
    name: "UTF-8 address with SMTPUTF8",
    input: `${ehlo}MAIL FROM:<δοκιμή@example.org> SMTPUTF8\r\nRCPT TO:<用户@例子.广告>\r\n`,
    wantReplies: ["250", "250 2.1.0", "250 2.1.5"],
  },
  { name: "HTTP request closes", input: "GET / HTTP/1.1\r\nHost: x\r\n", wantReplies: ["421 4.7.0"], wantClosed: true },
  { name: "header line closes", input: "EHLO x\r\nUser-Agent: curl\r\n", wantReplies: ["250", "421 4.7.0"], wantClosed: true },
  {
    name: "too many errors",
    input: "A\r\nB\r\nC\r\nD\r\nE\r\nF\r\n",
    wantReplies: ["500 5.5.2", "500 5.5.2", "500 5.5.2", "500 5.5.2", "421 4.7.0"],
    wantClosed: true,
  },
  { name: "input after QUIT is ignored", input: "QUIT\r\nNOOP\r\n", wantReplies: ["221 2.0.0"], wantClosed: true },
  {
    name: "commands after DATA end in the same packet",
    input: `${ehlo}${tx}DATA\r\n.\r\nRSET\r\nQUIT\r\n`,
    wantReplies: [...ok, "354", "250 2.0.0", "250 2.0.0", "221 2.0.0"],
    wantBody: "",
    wantClosed: true,
  },
];

describe("SmtpServerSession", () => {
  for (const [split, fn] of splitters) {
    describe(split, () => {
      test.each(cases)("$name", (c) => {
        const got = drive(fn(Buffer.from(c.input, c.latin1 ? "latin1" : "utf8")), { ...baseOptions, ...c.options });
        expect(got.replies).toEqual(c.wantReplies);
        if (c.wantBody !== undefined) expect(got.body).toBe(c.wantBody);
        expect(got.closed).toBe(c.wantClosed ?? false);
        if (c.wantEvents !== undefined) expect(got.events.map((e) => e.type)).toEqual(c.wantEvents);
      });
    });
  }

  test("the output does not depend on how the input is split", () => {
    for (const c of cases) {
      const input = Buffer.from(c.input, c.latin1 ? "latin1" : "utf8");
      const outputs = splitters.map(([, fn]) => drive(fn(input), { ...baseOptions, ...c.options }).output);
      expect(new Set(outputs).size).toBe(1);
    }
  });
});
