import { prdrFinalReply } from "./prdr";
import { reply } from "./reply";
import { replies } from "./replies";
import { SmtpServerSession } from "./session";
import { drive, type Read, splitters } from "./testing/driver";
import { type SessionOptions } from "./types";

const base: SessionOptions = { hostname: "mx.test", maxMessageSize: 1000, maxRecipients: 10, prdr: true };
const content = "Subject: prdr\r\n\r\nhello\r\n";

interface Case {
  name: string;
  /** RCPT addresses; content policy by local part (defer*, reject*), RCPT refused at reject.example */
  rcpts: string[];
  /** replies after DATA's 354 (or the BDAT replies) */
  wantEnd: string[];
  /** the final reply line */
  wantFinal?: RegExp;
}

const cases: Case[] = [
  { name: "1 recipient accepted: a normal reply", rcpts: ["ok1@lab.test"], wantEnd: ["250 2.0.0"], wantFinal: /^250 2\.0\.0 OK id=ID1$/ },
  { name: "1 recipient rejected by content: a normal reply", rcpts: ["reject-me@lab.test"], wantEnd: ["550 5.7.1"] },
  { name: "1 recipient deferred by content: a normal reply", rcpts: ["defer-me@lab.test"], wantEnd: ["450 4.7.1"] },
  {
    name: "2 recipients: accept, reject",
    rcpts: ["ok1@lab.test", "reject-me@lab.test"],
    wantEnd: ["353", "250 2.1.5", "550 5.7.1", "250 2.0.0"],
    wantFinal: /accepted for some recipients$/,
  },
  { name: "2 recipients: both accepted", rcpts: ["ok1@lab.test", "ok2@lab.test"], wantEnd: ["353", "250 2.1.5", "250 2.1.5", "250 2.0.0"], wantFinal: /OK id=ID1 message accepted$/ },
  { name: "2 recipients: defer, reject", rcpts: ["defer-me@lab.test", "reject-me@lab.test"], wantEnd: ["353", "450 4.7.1", "550 5.7.1", "450 4.0.0"] },
  { name: "2 recipients: both rejected", rcpts: ["reject-1@lab.test", "reject-2@lab.test"], wantEnd: ["353", "550 5.7.1", "550 5.7.1", "550 5.0.0"] },
  {
    name: "5 recipients: accept, defer, reject, accept, reject",
    rcpts: ["ok1@lab.test", "defer-a@lab.test", "reject-b@lab.test", "ok2@lab.test", "reject-c@lab.test"],
    wantEnd: ["353", "250 2.1.5", "450 4.7.1", "550 5.7.1", "250 2.1.5", "550 5.7.1", "250 2.0.0"],
    wantFinal: /accepted for some recipients$/,
  },
  {
    name: "5 recipients, 2 refused at RCPT: replies for the 3 accepted only",
    rcpts: ["ok1@lab.test", "x@reject.example", "defer-a@lab.test", "y@reject.example", "ok2@lab.test"],
    wantEnd: ["353", "250 2.1.5", "450 4.7.1", "250 2.1.5", "250 2.0.0"],
  },
  {
    name: "5 recipients, 4 refused at RCPT: one accepted recipient, a normal reply",
    rcpts: ["a@reject.example", "b@reject.example", "reject-me@lab.test", "c@reject.example", "d@reject.example"],
    wantEnd: ["550 5.7.1"],
  },
];

type Form = "pipelined DATA" | "one command per read, no PIPELINING" | "pipelined BDAT" | "BDAT, no PIPELINING";
const forms: Form[] = ["pipelined DATA", "one command per read, no PIPELINING", "pipelined BDAT", "BDAT, no PIPELINING"];

function transcript(c: Case, form: Form): { reads: Read[]; options: Partial<SessionOptions> } {
  const mail = "MAIL FROM:<sender@client.test> PRDR\r\n";
  const rcpts = c.rcpts.map((r) => `RCPT TO:<${r}>\r\n`);
  const bdat = `BDAT ${content.length} LAST\r\n${content}`;
  switch (form) {
    case "pipelined DATA":
      return { reads: ["EHLO client.test\r\n", `${mail}${rcpts.join("")}DATA\r\n`, `${content}.\r\nQUIT\r\n`], options: {} };
    case "one command per read, no PIPELINING":
      return { reads: ["EHLO client.test\r\n", mail, ...rcpts, "DATA\r\n", `${content}.\r\n`, "QUIT\r\n"], options: { extensions: { pipelining: false } } };
    case "pipelined BDAT":
      return { reads: ["EHLO client.test\r\n", `${mail}${rcpts.join("")}${bdat}QUIT\r\n`], options: {} };
    case "BDAT, no PIPELINING":
      return { reads: ["EHLO client.test\r\n", mail, ...rcpts, bdat, "QUIT\r\n"], options: { extensions: { pipelining: false } } };
  }
}

function rcptReplies(c: Case): string[] {
  return c.rcpts.map((r) => (r.endsWith("@reject.example") ? "550 5.7.1" : "250 2.1.5"));
}

describe("PRDR reply sequence", () => {
  for (const form of forms) {
    for (const [split, fn] of splitters) {
      describe(`${form}, reads split ${split}`, () => {
        test.each(cases)("$name", (c) => {
          const t = transcript(c, form);
          const got = drive(t.reads, { ...base, ...t.options }, { split: fn, timed: true });
          const data = form.includes("BDAT") ? [] : ["354"];
          expect(got.replies).toEqual(["220", "250", "250 2.1.0", ...rcptReplies(c), ...data, ...c.wantEnd, "221 2.0.0"]);
          expect(got.closed).toBe(true);
          const final = got.output.split("\r\n").at(-3) ?? "";
          if (c.wantFinal !== undefined) expect(final).toMatch(c.wantFinal);
          const ends = got.events.filter((e) => e.type === "dataEnd" || e.type === "prdrEnd").map((e) => e.type);
          expect(ends).toEqual([c.wantEnd[0] === "353" ? "prdrEnd" : "dataEnd"]);
        });
      });
    }
  }
});

describe("PRDR", () => {
  const run = (input: string, o: Partial<SessionOptions> = {}): string => drive([input], { ...base, ...o }).output;

  test("the exact transcript of a mixed PRDR transaction", () => {
    const out = run(
      "EHLO c\r\nMAIL FROM:<s@c.test> PRDR\r\nRCPT TO:<ok1@lab.test>\r\nRCPT TO:<reject-me@lab.test>\r\nRCPT TO:<ok2@lab.test>\r\nDATA\r\nhi\r\n.\r\n",
    );
    expect(out.slice(out.indexOf("353"))).toBe(
      "353 PRDR content analysis beginning\r\n" +
        "250 2.1.5 PRDR R=<ok1@lab.test> acceptance\r\n" +
        "550 5.7.1 PRDR R=<reject-me@lab.test> refusal\r\n" +
        "250 2.1.5 PRDR R=<ok2@lab.test> acceptance\r\n" +
        "250 2.0.0 OK id=ID1 message accepted for some recipients\r\n",
    );
  });

  test("EHLO advertises PRDR only when enabled", () => {
    expect(run("EHLO c\r\n")).toContain("250-PRDR\r\n");
    expect(run("EHLO c\r\n", { prdr: false })).not.toContain("PRDR");
  });

  test.each([
    ["PRDR not offered", { prdr: false }, "MAIL FROM:<s@c.test> PRDR\r\n", "555 5.5.4 Unsupported option: PRDR"],
    ["PRDR with a value", {}, "MAIL FROM:<s@c.test> PRDR=yes\r\n", "501 5.5.4 PRDR takes no value"],
    ["PRDR after HELO", {}, "MAIL FROM:<s@c.test> PRDR\r\n", "555 5.5.4 Unsupported option: PRDR"],
  ])("%s", (name, o, mail, want) => {
    const helo = name.includes("HELO") ? "HELO c\r\n" : "EHLO c\r\n";
    expect(run(`${helo}${mail}`, o)).toContain(`${want}\r\n`);
  });

  test("a message over the size limit gets one 552, no 353", () => {
    const out = run(`EHLO c\r\nMAIL FROM:<s@c.test> PRDR\r\nRCPT TO:<a@lab.test>\r\nRCPT TO:<b@lab.test>\r\nDATA\r\n${"x".repeat(1100)}\r\n.\r\n`);
    expect(out).not.toContain("353");
    expect(out).toMatch(/552 5\.3\.4 [^\r]*\r\n$/);
  });

  test("respond() answers a PRDR transaction with one reply for all; respondPrdr() checks its replies", () => {
    const s = new SmtpServerSession(base);
    s.feed(Buffer.from("EHLO c\r\nMAIL FROM:<s@c.test> PRDR\r\nRCPT TO:<a@lab.test>\r\nRCPT TO:<b@lab.test>\r\nDATA\r\nx\r\n.\r\n"));
    for (let ev = s.next(); ev !== null; ev = s.next()) {
      if (ev.type === "mail") s.respond(replies.senderOk);
      if (ev.type === "rcpt") s.respond(replies.recipientOk);
      if (ev.type === "data") s.respond(replies.startData);
      if (ev.type === "prdrEnd") expect(ev.transaction.recipients.map((r) => r.recipient.address)).toEqual(["a@lab.test", "b@lab.test"]);
    }
    expect(s.awaiting).toBe("prdrEnd");
    const yes = replies.prdrAccepted("a@lab.test");
    const no = replies.prdrRejected("b@lab.test");
    expect(() => s.respondPrdr([yes], prdrFinalReply([yes]))).toThrow(/1 recipient replies for 2 recipients/);
    expect(() => s.respondPrdr([yes, no], reply(550, "5.0.0", "no"))).toThrow(/final reply must be 2xx/);
    expect(() => s.respondPrdr([no, no], reply(250, "2.0.0", "ok"))).toThrow(/final reply must be 2xx/);
    expect(() => s.respondPrdr([yes, reply(354, undefined, "x")], prdrFinalReply([yes]))).toThrow(/2xx, 4xx or 5xx/);
    s.takeOutput();
    s.respond(replies.localError);
    expect(s.takeOutput()).toBe("451 4.3.0 Local error in processing, try again later\r\n");
    expect(s.transaction).toBeNull();
    expect(() => s.respondPrdr([yes, no], prdrFinalReply([yes, no]))).toThrow(/without a pending prdrEnd/);
  });
});
