import { replies } from "./replies";
import { SmtpServerSession } from "./session";
import { drive, type Read, splitters } from "./testing/driver";
import { type SessionOptions, type SmtpEvent } from "./types";

const base: SessionOptions = { hostname: "mx.test", maxMessageSize: 1000, tlsAvailable: true };
const mail = "MAIL FROM:<a@example.org>\r\n";
const rcpt = "RCPT TO:<b@example.net>\r\n";
const ok = ["250 2.1.0", "250 2.1.5"];

interface Case {
  name: string;
  /** the client's writes, each arriving as one read */
  reads: Read[];
  options?: Partial<SessionOptions>;
  greetBefore?: number;
  /** every reply, the banner included */
  wantReplies: string[];
  wantClosed?: boolean;
  /** the kind of the synchronisation error, when there is one */
  wantSync?: "sync_greeting" | "sync_pipelining";
}

const cases: Case[] = [
  {
    name: "one command per read",
    reads: ["EHLO x\r\n", mail, rcpt, "DATA\r\n", "hi\r\n.\r\n", "QUIT\r\n"],
    wantReplies: ["220", "250", ...ok, "354", "250 2.0.0", "221 2.0.0"],
    wantClosed: true,
  },
  {
    name: "PIPELINING: MAIL, RCPT, DATA in one read, QUIT after the dot",
    reads: ["EHLO x\r\n", `${mail}${rcpt}DATA\r\n`, "hi\r\n.\r\nQUIT\r\n"],
    wantReplies: ["220", "250", ...ok, "354", "250 2.0.0", "221 2.0.0"],
    wantClosed: true,
  },
  { name: "EHLO then MAIL in one read (Exim's first case)", reads: [`EHLO x\r\n${mail}`], wantReplies: ["220", "554 5.5.0"], wantClosed: true, wantSync: "sync_pipelining" },
  {
    name: "content sent with DATA, before 354",
    reads: ["EHLO x\r\n", `${mail}${rcpt}DATA\r\nthe message\r\n.\r\n`],
    wantReplies: ["220", "250", ...ok, "554 5.5.0"],
    wantClosed: true,
    wantSync: "sync_pipelining",
  },
  { name: "NOOP ends a group", reads: ["EHLO x\r\n", "NOOP\r\nNOOP\r\n"], wantReplies: ["220", "250", "554 5.5.0"], wantClosed: true, wantSync: "sync_pipelining" },
  { name: "VRFY ends a group", reads: ["EHLO x\r\n", "VRFY a\r\nNOOP\r\n"], wantReplies: ["220", "250", "554 5.5.0"], wantClosed: true, wantSync: "sync_pipelining" },
  { name: "RSET is pipelinable", reads: ["EHLO x\r\n", `RSET\r\n${mail}${rcpt}`], wantReplies: ["220", "250", "250 2.0.0", ...ok] },
  { name: "before EHLO nothing is pipelinable", reads: ["RSET\r\nNOOP\r\n"], wantReplies: ["220", "554 5.5.0"], wantClosed: true, wantSync: "sync_pipelining" },
  { name: "HELO: MAIL and RCPT in one read", reads: ["HELO x\r\n", `${mail}${rcpt}`], wantReplies: ["220", "250", "554 5.5.0"], wantClosed: true, wantSync: "sync_pipelining" },
  {
    name: "HELO: one command per read",
    reads: ["HELO x\r\n", mail, rcpt, "DATA\r\n", "x\r\n.\r\n", "QUIT\r\n"],
    wantReplies: ["220", "250", ...ok, "354", "250 2.0.0", "221 2.0.0"],
    wantClosed: true,
  },
  {
    name: "HELO: a command after the dot in the same read",
    reads: ["HELO x\r\n", mail, rcpt, "DATA\r\n", "x\r\n.\r\nQUIT\r\n"],
    wantReplies: ["220", "250", ...ok, "354", "554 5.5.0"],
    wantClosed: true,
    wantSync: "sync_pipelining",
  },
  {
    name: "PIPELINING switched off",
    reads: ["EHLO x\r\n", `${mail}${rcpt}`],
    options: { extensions: { pipelining: false } },
    wantReplies: ["220", "250", "554 5.5.0"],
    wantClosed: true,
    wantSync: "sync_pipelining",
  },
  { name: "input before the banner", reads: ["EHLO x\r\n"], greetBefore: 1, wantReplies: ["554 5.5.0"], wantClosed: true, wantSync: "sync_greeting" },
  { name: "banner first, then input", reads: ["EHLO x\r\n"], wantReplies: ["220", "250"] },
  { name: "QUIT and HELP are not checked", reads: ["EHLO x\r\n", "HELP\r\nQUIT\r\nNOOP\r\n"], wantReplies: ["220", "250", "214 2.0.0", "221 2.0.0"], wantClosed: true },
  { name: "unknown commands are errors, not sync points", reads: ["EHLO x\r\n", "FOO\r\nNOOP\r\n"], wantReplies: ["220", "250", "500 5.5.2", "250 2.0.0"] },
  { name: "syncCheck off", reads: [`EHLO x\r\n${mail}`], options: { syncCheck: false }, wantReplies: ["220", "250", "250 2.1.0"] },
  {
    name: "STARTTLS with commands behind it (CVE-2011-0411)",
    reads: ["EHLO x\r\n", "STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n"],
    wantReplies: ["220", "250", "554 5.5.0"],
    wantClosed: true,
    wantSync: "sync_pipelining",
  },
  {
    name: "BDAT chunks and QUIT pipelined",
    reads: ["EHLO x\r\n", `${mail}${rcpt}BDAT 5\r\nhelloBDAT 0 LAST\r\nQUIT\r\n`],
    wantReplies: ["220", "250", ...ok, "250 2.0.0", "250 2.0.0", "221 2.0.0"],
    wantClosed: true,
  },
  {
    name: "BDAT without PIPELINING: input after a chunk in the same read",
    reads: ["EHLO x\r\n", mail, rcpt, "BDAT 5\r\nhelloBDAT 0 LAST\r\n"],
    options: { extensions: { pipelining: false } },
    wantReplies: ["220", "250", ...ok, "554 5.5.0"],
    wantClosed: true,
    wantSync: "sync_pipelining",
  },
  {
    name: "BDAT without PIPELINING: one chunk per read",
    reads: ["EHLO x\r\n", mail, rcpt, "BDAT 5\r\nhello", "BDAT 0 LAST\r\n"],
    options: { extensions: { pipelining: false } },
    wantReplies: ["220", "250", ...ok, "250 2.0.0", "250 2.0.0"],
  },
];

const syncErrors = (events: SmtpEvent[]): string[] =>
  events.flatMap((e) => (e.type === "error" && e.kind.startsWith("sync") ? [e.kind] : []));

describe("synchronisation check (reads fed with endOfRead)", () => {
  for (const [split, fn] of splitters) {
    describe(`each read split ${split}`, () => {
      test.each(cases)("$name", (c) => {
        const got = drive(c.reads, { ...base, ...c.options }, { split: fn, timed: true, greetBefore: c.greetBefore ?? 0 });
        expect(got.replies).toEqual(c.wantReplies);
        expect(got.closed).toBe(c.wantClosed ?? false);
        expect(syncErrors(got.events)).toEqual(c.wantSync === undefined ? [] : [c.wantSync]);
      });
    });
  }

  test("input fed without endOfRead is never judged", () => {
    for (const c of cases) {
      const got = drive(c.reads, { ...base, ...c.options }, { greetBefore: c.greetBefore ?? 0 });
      expect(syncErrors(got.events)).toEqual([]);
    }
  });
});

describe("synchronisation check: reads that arrive before the reply is taken", () => {
  const timed = { endOfRead: true } as const;
  const session = (o: Partial<SessionOptions> = {}): SmtpServerSession => {
    const s = new SmtpServerSession({ ...base, ...o });
    s.greet();
    s.takeOutput();
    return s;
  };

  test("a read fed while the EHLO reply is still queued withdraws it", () => {
    const s = session();
    s.feed(Buffer.from("EHLO x\r\n"), timed);
    expect(s.next()).toMatchObject({ type: "command" });
    s.feed(Buffer.from("MAIL FROM:<a@b>\r\n"), timed);
    expect(s.next()).toMatchObject({ type: "error", kind: "sync_pipelining", line: "MAIL FROM:<a@b>\\x0d\\x0a", close: true });
    expect(s.takeOutput()).toBe("554 5.5.0 SMTP synchronization error\r\n");
    expect(s.closed).toBe(true);
  });

  test("HELO session: RCPT read while MAIL waits for its decision", () => {
    const s = session();
    s.feed(Buffer.from("HELO x\r\n"), timed);
    s.next();
    s.takeOutput();
    s.feed(Buffer.from("MAIL FROM:<a@b>\r\n"), timed);
    expect(s.next()?.type).toBe("mail");
    s.feed(Buffer.from("RCPT TO:<c@d>\r\n"), timed);
    expect(s.next()).toBeNull();
    s.respond(replies.senderOk);
    expect(s.next()).toMatchObject({ type: "error", kind: "sync_pipelining" });
    expect(s.takeOutput()).toBe("554 5.5.0 SMTP synchronization error\r\n");
  });

  test("the answer to a message is never withdrawn", () => {
    const s = session();
    for (const line of ["HELO x\r\n", "MAIL FROM:<a@b>\r\n", "RCPT TO:<c@d>\r\n", "DATA\r\n"]) {
      s.feed(Buffer.from(line), timed);
      for (let ev = s.next(); ev !== null; ev = s.next()) {
        if (ev.type === "mail") s.respond(replies.senderOk);
        if (ev.type === "rcpt") s.respond(replies.recipientOk);
        if (ev.type === "data") s.respond(replies.startData);
      }
      s.takeOutput();
    }
    s.feed(Buffer.from("x\r\n.\r\n"), timed);
    expect(s.next()?.type).toBe("body");
    expect(s.next()?.type).toBe("dataEnd");
    s.feed(Buffer.from("QUIT\r\n"), timed);
    s.respond(replies.accepted("ID1"));
    expect(s.next()).toMatchObject({ type: "error", kind: "sync_pipelining" });
    expect(s.takeOutput()).toBe("250 2.0.0 OK id=ID1\r\n554 5.5.0 SMTP synchronization error\r\n");
  });

  test("a delayed banner: greet() after a quiet wait, early talker refused at once", () => {
    const quiet = new SmtpServerSession(base);
    quiet.greet();
    expect(quiet.takeOutput()).toBe("220 mx.test ESMTP Postern\r\n");
    const early = new SmtpServerSession(base);
    early.feed(Buffer.from("EHLO spam\r\n"), timed);
    expect(early.next()).toMatchObject({ type: "error", kind: "sync_greeting", line: "EHLO spam\\x0d\\x0a" });
    early.greet();
    expect(early.takeOutput()).toBe("554 5.5.0 SMTP synchronization error\r\n");
  });

  test("a read split across feeds counts once it ends", () => {
    const s = session();
    s.feed(Buffer.from("EHLO x\r\nMA"), { endOfRead: false });
    expect(s.next()?.type).toBe("command");
    s.feed(Buffer.from("IL FROM:<a@b>\r\n"), timed);
    expect(s.next()).toMatchObject({ type: "error", kind: "sync_pipelining" });
  });
});
