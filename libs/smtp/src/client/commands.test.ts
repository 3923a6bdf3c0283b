import {
  encodeXtext,
  formatBdat,
  formatCommand,
  formatHello,
  formatMailFrom,
  formatRcptTo,
  splitAddress,
  type MailFromParams,
  type RcptToParams,
} from "./commands";
import { SmtpAddressError, SmtpArgumentError } from "./errors";

describe("formatMailFrom", () => {
  const table: Array<{ sender: string; params?: MailFromParams; want: string }> = [
    { sender: "a@example.org", want: "MAIL FROM:<a@example.org>\r\n" },
    { sender: "", want: "MAIL FROM:<>\r\n" },
    { sender: "a@example.org", params: { size: 1234 }, want: "MAIL FROM:<a@example.org> SIZE=1234\r\n" },
    { sender: "a@example.org", params: { size: 0, body: "8BITMIME" }, want: "MAIL FROM:<a@example.org> SIZE=0 BODY=8BITMIME\r\n" },
    { sender: "ü@example.org", params: { smtpUtf8: true, body: "8BITMIME" }, want: "MAIL FROM:<ü@example.org> BODY=8BITMIME SMTPUTF8\r\n" },
    { sender: "a@b", params: { ret: "HDRS", envid: "id+1=x y" }, want: "MAIL FROM:<a@b> RET=HDRS ENVID=id+2B1+3Dx+20y\r\n" },
    { sender: "\"a b\"@example.org", want: "MAIL FROM:<\"a b\"@example.org>\r\n" },
  ];
  it.each(table)("$sender $params", ({ sender, params, want }) => expect(formatMailFrom(sender, params)).toBe(want));

  const bad: Array<{ sender: string; params?: MailFromParams; want: new (...a: never[]) => Error }> = [
    { sender: "a@b\r\nRCPT TO:<x@y>", want: SmtpAddressError },
    { sender: "a@b>", want: SmtpAddressError },
    { sender: "a\x00@b", want: SmtpAddressError },
    { sender: "ü@example.org", want: SmtpAddressError },
    { sender: `${"a".repeat(250)}@example.org`, want: SmtpAddressError },
    { sender: "a@b", params: { size: -1 }, want: SmtpArgumentError },
    { sender: "a@b", params: { size: 1.5 }, want: SmtpArgumentError },
  ];
  it.each(bad)("refuses $sender $params", ({ sender, params, want }) => {
    expect(() => formatMailFrom(sender, params)).toThrow(want);
  });
});

describe("formatRcptTo", () => {
  const table: Array<{ rcpt: string; params?: RcptToParams; want: string }> = [
    { rcpt: "b@example.net", want: "RCPT TO:<b@example.net>\r\n" },
    { rcpt: "b@example.net", params: { notify: ["success", "FAILURE", "FAILURE"] }, want: "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE\r\n" },
    { rcpt: "b@example.net", params: { notify: ["NEVER"] }, want: "RCPT TO:<b@example.net> NOTIFY=NEVER\r\n" },
    { rcpt: "b@example.net", params: { orcpt: { type: "rfc822", address: "B+x@example.net" } }, want: "RCPT TO:<b@example.net> ORCPT=rfc822;B+2Bx@example.net\r\n" },
    { rcpt: "ü@example.net", params: { smtpUtf8: true }, want: "RCPT TO:<ü@example.net>\r\n" },
  ];
  it.each(table)("$rcpt $params", ({ rcpt, params, want }) => expect(formatRcptTo(rcpt, params)).toBe(want));

  const bad: Array<{ rcpt: string; params?: RcptToParams; want: new (...a: never[]) => Error }> = [
    { rcpt: "", want: SmtpAddressError },
    { rcpt: "b@x\nDATA", want: SmtpAddressError },
    { rcpt: "ü@example.net", want: SmtpAddressError },
    { rcpt: "b@x", params: { notify: ["NEVER", "SUCCESS"] }, want: SmtpArgumentError },
    { rcpt: "b@x", params: { notify: ["SOMETIMES"] }, want: SmtpArgumentError },
    { rcpt: "b@x", params: { orcpt: { type: "rfc 822", address: "b@x" } }, want: SmtpArgumentError },
  ];
  it.each(bad)("refuses $rcpt $params", ({ rcpt, params, want }) => {
    expect(() => formatRcptTo(rcpt, params)).toThrow(want);
  });
});

describe("other commands", () => {
  it.each([
    ["EHLO", "mail.example.org", "EHLO mail.example.org\r\n"],
    ["HELO", "[192.0.2.1]", "HELO [192.0.2.1]\r\n"],
    ["LHLO", "[IPv6:2001:db8::1]", "LHLO [IPv6:2001:db8::1]\r\n"],
    ["EHLO", "host_name", "EHLO host_name\r\n"],
  ] as const)("%s %s", (verb, name, want) => expect(formatHello(verb, name)).toBe(want));
  it.each(["", "a b", "a\r\nQUIT", "<x>", "a@b"])("refuses hello name %j", (name) => {
    expect(() => formatHello("EHLO", name)).toThrow(SmtpArgumentError);
  });
  it("formats bare verbs and BDAT", () => {
    expect(formatCommand("DATA")).toBe("DATA\r\n");
    expect(formatCommand("QUIT")).toBe("QUIT\r\n");
    expect(formatBdat(10, false)).toBe("BDAT 10\r\n");
    expect(formatBdat(0, true)).toBe("BDAT 0 LAST\r\n");
    expect(() => formatBdat(-1, true)).toThrow(SmtpArgumentError);
  });
  it("xtext and address split", () => {
    expect(encodeXtext("a+b=c d\x7f")).toBe("a+2Bb+3Dc+20d+7F");
    expect(encodeXtext("é")).toBe("+C3+A9");
    expect(splitAddress("\"a@b\"@Example.ORG")).toEqual({ localPart: "\"a@b\"", domain: "Example.ORG" });
    expect(splitAddress("postmaster")).toEqual({ localPart: "postmaster", domain: "" });
  });
});
