import { decodeXtext, type ParamContext, parseMailParams, parseRcptParams } from "./params";

const esmtp: ParamContext = { esmtp: true, size: true, eightBitMime: true, smtputf8: true, dsn: true };
const helo: ParamContext = { ...esmtp, esmtp: false };
const noDsn: ParamContext = { ...esmtp, dsn: false };
const ext: ParamContext = { ...esmtp, binaryMime: true, prdr: true, auth: true };
const authed: ParamContext = { ...ext, authenticated: true };

interface Case {
  name: string;
  rest: string;
  ctx?: ParamContext;
  want?: object;
  wantReply?: string; // "code enhanced text"
}

const reply = (r: { code: number; enhanced?: string; lines: readonly string[] }): string =>
  `${r.code} ${r.enhanced ?? ""} ${r.lines.join("|")}`;

const mailCases: Case[] = [
  { name: "none", rest: "", want: { smtputf8: false } },
  { name: "SIZE", rest: " SIZE=1000", want: { size: 1000, smtputf8: false } },
  { name: "lower-case keyword", rest: " size=12 body=8bitmime", want: { size: 12, body: "8BITMIME" } },
  { name: "BODY=7BIT", rest: " BODY=7BIT", want: { body: "7BIT" } },
  { name: "SMTPUTF8", rest: " SMTPUTF8", want: { smtputf8: true } },
  { name: "RET and ENVID", rest: " RET=HDRS ENVID=QQ+2B314", want: { ret: "HDRS", envid: "QQ+314" } },
  { name: "several spaces", rest: "  SIZE=1  SMTPUTF8", want: { size: 1, smtputf8: true } },
  { name: "BINARYMIME refused", rest: " BODY=BINARYMIME", wantReply: "501 5.5.4 Bad BODY parameter" },
  { name: "SIZE not a number", rest: " SIZE=1e3", wantReply: "501 5.5.4 Bad SIZE parameter" },
  { name: "SIZE without value", rest: " SIZE", wantReply: "501 5.5.4 Bad SIZE parameter" },
  { name: "SMTPUTF8 with value", rest: " SMTPUTF8=yes", wantReply: "501 5.5.4 SMTPUTF8 takes no value" },
  { name: "bad RET", rest: " RET=ALL", wantReply: "501 5.5.4 Bad RET parameter" },
  { name: "bad xtext", rest: " ENVID=a+zz", wantReply: "501 5.5.4 Bad ENVID parameter" },
  { name: "ENVID too long", rest: ` ENVID=${"a".repeat(101)}`, wantReply: "501 5.5.4 Bad ENVID parameter" },
  { name: "unknown", rest: " XFOO=1", wantReply: "555 5.5.4 Unsupported option: XFOO" },
  { name: "duplicate", rest: " SIZE=1 SIZE=2", wantReply: "501 5.5.4 Duplicate parameter: SIZE" },
  { name: "no space before", rest: "SIZE=1", wantReply: "501 5.5.4 Bad parameter syntax" },
  { name: "empty value", rest: " SIZE=", wantReply: "501 5.5.4 Bad parameter syntax" },
  { name: "bad keyword", rest: " -X=1", wantReply: "501 5.5.4 Bad parameter syntax" },
  { name: "HELO session: no parameters", rest: " SIZE=1", ctx: helo, wantReply: "555 5.5.4 Unsupported option: SIZE" },
  { name: "DSN off: RET unknown", rest: " RET=FULL", ctx: noDsn, wantReply: "555 5.5.4 Unsupported option: RET" },
  { name: "BINARYMIME offered", rest: " BODY=binarymime", ctx: ext, want: { body: "BINARYMIME" } },
  { name: "PRDR", rest: " PRDR", ctx: ext, want: { prdr: true } },
  { name: "PRDR not offered", rest: " PRDR", wantReply: "555 5.5.4 Unsupported option: PRDR" },
  { name: "PRDR with a value", rest: " PRDR=1", ctx: ext, wantReply: "501 5.5.4 PRDR takes no value" },
  { name: "AUTH= before authentication is <>", rest: " AUTH=a+2Bb@example.org", ctx: ext, want: { auth: "<>" } },
  { name: "AUTH= after authentication, xtext decoded", rest: " AUTH=a+2Bb@example.org", ctx: authed, want: { auth: "a+b@example.org" } },
  { name: "AUTH=<>", rest: " AUTH=<>", ctx: authed, want: { auth: "<>" } },
  { name: "AUTH= bad xtext", rest: " AUTH=a+zz", ctx: authed, wantReply: "501 5.5.4 Bad AUTH parameter" },
  { name: "AUTH without a value", rest: " AUTH", ctx: authed, wantReply: "501 5.5.4 Bad AUTH parameter" },
  { name: "AUTH not offered", rest: " AUTH=<>", wantReply: "555 5.5.4 Unsupported option: AUTH" },
];

const rcptCases: Case[] = [
  { name: "none", rest: "", want: {} },
  { name: "NOTIFY list", rest: " NOTIFY=success,DELAY", want: { notify: ["SUCCESS", "DELAY"] } },
  { name: "NOTIFY NEVER", rest: " NOTIFY=NEVER", want: { notify: ["NEVER"] } },
  { name: "NOTIFY NEVER with others", rest: " NOTIFY=NEVER,DELAY", wantReply: "501 5.5.4 Bad NOTIFY parameter" },
  { name: "NOTIFY duplicate value", rest: " NOTIFY=DELAY,DELAY", wantReply: "501 5.5.4 Bad NOTIFY parameter" },
  { name: "NOTIFY unknown value", rest: " NOTIFY=ALWAYS", wantReply: "501 5.5.4 Bad NOTIFY parameter" },
  { name: "ORCPT xtext", rest: " ORCPT=rfc822;a+2Bb@example.org", want: { orcpt: "rfc822;a+b@example.org" } },
  { name: "ORCPT utf-8 kept", rest: " ORCPT=utf-8;us\\x{E9}r@example.org", want: { orcpt: "utf-8;us\\x{E9}r@example.org" } },
  { name: "ORCPT without type", rest: " ORCPT=a@b", wantReply: "501 5.5.4 Bad ORCPT parameter" },
  { name: "ORCPT empty address", rest: " ORCPT=rfc822;", wantReply: "501 5.5.4 Bad ORCPT parameter" },
  { name: "unknown", rest: " FOO", wantReply: "555 5.5.4 Unsupported option: FOO" },
  { name: "DSN off", rest: " NOTIFY=NEVER", ctx: noDsn, wantReply: "555 5.5.4 Unsupported option: NOTIFY" },
];

describe("parseMailParams", () => {
  test.each(mailCases)("$name", (c) => {
    const got = parseMailParams(c.rest, c.ctx ?? esmtp);
    if (c.wantReply !== undefined) {
      expect(got.ok ? "ok" : reply(got.reply)).toBe(c.wantReply);
    } else {
      expect(got.ok && got.params).toMatchObject(c.want ?? {});
    }
  });
});

describe("parseRcptParams", () => {
  test.each(rcptCases)("$name", (c) => {
    const got = parseRcptParams(c.rest, c.ctx ?? esmtp);
    if (c.wantReply !== undefined) expect(got.ok ? "ok" : reply(got.reply)).toBe(c.wantReply);
    else expect(got.ok && got.params).toEqual(c.want);
  });
});

describe("decodeXtext", () => {
  test.each([
    ["abc", "abc"],
    ["a+2Bb", "a+b"],
    ["+3D", "="],
    ["a+2b", null],
    ["a+2", null],
    ["a=b", null],
    ["a b", null],
  ])("%s", (input, want) => {
    expect(decodeXtext(input)).toBe(want);
  });
});
