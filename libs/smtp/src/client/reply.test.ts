import {
  SmtpReplyCodeMismatchError,
  SmtpReplyLineTooLongError,
  SmtpReplySyntaxError,
  SmtpReplyTooManyLinesError,
} from "./errors";
import { randomChunks } from "../testing/split";
import { ReplyParser, formatReply, formatReplyLine, replyKind, type ReplyParserOptions, type SmtpReply } from "./reply";

type Split = "whole" | "bytes" | `random${number}`;
const SPLITS: Split[] = ["whole", "bytes", "random1", "random2", "random3"];

function chunks(input: Buffer, split: Split): Buffer[] {
  if (split === "whole") return [input];
  if (split === "bytes") return [...input].map((b) => Buffer.from([b]));
  return randomChunks(input, Number(split.slice(6)), 7);
}

function feed(input: string | Buffer, split: Split, opts?: ReplyParserOptions) {
  const parser = new ReplyParser(opts);
  const replies: SmtpReply[] = [];
  let error: unknown;
  try {
    for (const c of chunks(Buffer.isBuffer(input) ? input : Buffer.from(input, "utf8"), split)) replies.push(...parser.push(c));
  } catch (err) {
    error = err;
  }
  return { replies, error, inReply: parser.inReply };
}

const ok: Array<{ name: string; input: string; want: Array<Pick<SmtpReply, "code" | "lines" | "enhanced">> }> = [
  { name: "single line", input: "250 OK\r\n", want: [{ code: 250, lines: ["OK"], enhanced: undefined }] },
  { name: "code only", input: "250\r\n", want: [{ code: 250, lines: [""], enhanced: undefined }] },
  {
    name: "multi-line",
    input: "250-mx.example Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
    want: [{ code: 250, lines: ["mx.example Hello", "PIPELINING", "SIZE 1000"], enhanced: undefined }],
  },
  { name: "enhanced", input: "550 5.1.1 no such user\r\n", want: [{ code: 550, lines: ["5.1.1 no such user"], enhanced: "5.1.1" }] },
  { name: "enhanced alone", input: "250 2.0.0\r\n", want: [{ code: 250, lines: ["2.0.0"], enhanced: "2.0.0" }] },
  { name: "enhanced 3-digit parts", input: "451 4.7.100 x\r\n", want: [{ code: 451, lines: ["4.7.100 x"], enhanced: "4.7.100" }] },
  { name: "enhanced class mismatch", input: "250 5.1.1 odd\r\n", want: [{ code: 250, lines: ["5.1.1 odd"], enhanced: undefined }] },
  { name: "not enhanced: version", input: "220 2.0.0x ready\r\n", want: [{ code: 220, lines: ["2.0.0x ready"], enhanced: undefined }] },
  { name: "bare LF", input: "220 hi\n", want: [{ code: 220, lines: ["hi"], enhanced: undefined }] },
  {
    name: "two replies",
    input: "250 a\r\n354 go ahead\r\n",
    want: [
      { code: 250, lines: ["a"], enhanced: undefined },
      { code: 354, lines: ["go ahead"], enhanced: undefined },
    ],
  },
  { name: "empty continuation", input: "220-\r\n220 x\r\n", want: [{ code: 220, lines: ["", "x"], enhanced: undefined }] },
  { name: "UTF-8 text", input: "250 Grüße\r\n", want: [{ code: 250, lines: ["Grüße"], enhanced: undefined }] },
  { name: "bare CR kept in text", input: "250 a\rb\r\n", want: [{ code: 250, lines: ["a\rb"], enhanced: undefined }] },
];

describe("ReplyParser", () => {
  for (const c of ok) {
    for (const split of SPLITS) {
      it(`${c.name} (${split})`, () => {
        const got = feed(c.input, split);
        expect(got.error).toBeUndefined();
        expect(got.replies).toEqual(c.want);
        expect(got.inReply).toBe(false);
      });
    }
    it(`${c.name}: an extra byte stays pending and changes nothing`, () => {
      const got = feed(`${c.input}2`, "whole");
      expect(got.replies).toEqual(c.want);
      expect(got.inReply).toBe(true);
    });
    it(`${c.name}: without the last line end no final reply`, () => {
      const got = feed(c.input.replace(/\r?\n$/, ""), "bytes");
      expect(got.replies).toEqual(c.want.slice(0, -1));
      expect(got.inReply).toBe(true);
    });
  }

  const bad: Array<{ name: string; input: string; opts?: ReplyParserOptions; wantError: new (...a: never[]) => Error; wantCode: string }> = [
    { name: "two-digit code", input: "25 x\r\n", wantError: SmtpReplySyntaxError, wantCode: "POSTERN_SMTP_REPLY_SYNTAX" },
    { name: "letters", input: "abc\r\n", wantError: SmtpReplySyntaxError, wantCode: "POSTERN_SMTP_REPLY_SYNTAX" },
    { name: "no separator", input: "250x\r\n", wantError: SmtpReplySyntaxError, wantCode: "POSTERN_SMTP_REPLY_SYNTAX" },
    { name: "1yz code", input: "150 x\r\n", wantError: SmtpReplySyntaxError, wantCode: "POSTERN_SMTP_REPLY_SYNTAX" },
    { name: "empty line", input: "\r\n", wantError: SmtpReplySyntaxError, wantCode: "POSTERN_SMTP_REPLY_SYNTAX" },
    { name: "code changes", input: "250-a\r\n251 b\r\n", wantError: SmtpReplyCodeMismatchError, wantCode: "POSTERN_SMTP_REPLY_CODE_MISMATCH" },
    { name: "long line", input: `250 ${"x".repeat(30)}\r\n`, opts: { maxLineLength: 20 }, wantError: SmtpReplyLineTooLongError, wantCode: "POSTERN_SMTP_REPLY_LINE_TOO_LONG" },
    { name: "long unterminated", input: `250 ${"x".repeat(30)}`, opts: { maxLineLength: 20 }, wantError: SmtpReplyLineTooLongError, wantCode: "POSTERN_SMTP_REPLY_LINE_TOO_LONG" },
    { name: "too many lines", input: "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", opts: { maxLines: 3 }, wantError: SmtpReplyTooManyLinesError, wantCode: "POSTERN_SMTP_REPLY_TOO_MANY_LINES" },
  ];
  for (const c of bad) {
    for (const split of SPLITS) {
      it(`rejects ${c.name} (${split})`, () => {
        const got = feed(c.input, split, c.opts);
        expect(got.error).toBeInstanceOf(c.wantError);
        expect((got.error as { code: string }).code).toBe(c.wantCode);
        expect((got.error as Error).name).toBe(c.wantError.name);
      });
    }
  }

  it("accepts a line of exactly the cap, CR split from LF", () => {
    const p = new ReplyParser({ maxLineLength: 10 });
    expect(p.push(Buffer.from("250 123456\r"))).toEqual([]);
    expect(p.push(Buffer.from("\n"))).toEqual([{ code: 250, lines: ["123456"], enhanced: undefined }]);
  });

  it("stays failed after an error", () => {
    const p = new ReplyParser();
    expect(() => p.push(Buffer.from("xyz\r\n"))).toThrow(SmtpReplySyntaxError);
    expect(() => p.push(Buffer.from("250 ok\r\n"))).toThrow(SmtpReplySyntaxError);
  });

  it("escapes control bytes in the error", () => {
    const p = new ReplyParser();
    expect(() => p.push(Buffer.from("\x1b[31m\r\n"))).toThrow('malformed SMTP reply line: "\\x1b[31m"');
  });
});

describe("reply helpers", () => {
  const r: SmtpReply = { code: 250, enhanced: undefined, lines: ["a", "b"] };
  it.each([
    [220, "positive"],
    [354, "intermediate"],
    [451, "transient"],
    [550, "permanent"],
  ])("replyKind(%i) = %s", (code, want) => expect(replyKind({ code })).toBe(want));
  it("formats", () => {
    expect(formatReply(r)).toBe("250-a\n250 b");
    expect(formatReplyLine(r)).toBe("250 a b");
    expect(formatReplyLine({ code: 250, enhanced: undefined, lines: [""] })).toBe("250");
  });
});
