import { heloCapabilities, parseEhlo } from "./ehlo";
import { ReplyParser } from "./reply";

function reply(text: string) {
  const [r] = new ReplyParser().push(Buffer.from(text));
  if (!r) throw new Error("no reply");
  return r;
}

describe("parseEhlo", () => {
  const full = reply(
    "250-mx.example.org Hello client [192.0.2.1]\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-PIPELINING\r\n" +
      "250-pipe_connect\r\n250-AUTH PLAIN login\r\n250-AUTH=LOGIN\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-STARTTLS\r\n" +
      "250-PRDR\r\n250-DSN\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n",
  );
  it("reads every keyword of a rich server", () => {
    const c = parseEhlo(full);
    expect(c).toMatchObject({
      serverName: "mx.example.org",
      greeting: "Hello client [192.0.2.1]",
      pipelining: true,
      size: 52428800,
      eightBitMime: true,
      smtpUtf8: true,
      enhancedStatusCodes: true,
      chunking: true,
      binaryMime: true,
      dsn: true,
      prdr: true,
      startTls: true,
      auth: ["PLAIN", "LOGIN"],
    });
    expect(c.keywords.get("PIPE_CONNECT")).toBeUndefined(); // "_" is not a keyword character
    expect(c.keywords.get("SIZE")).toEqual(["52428800"]);
  });

  const table: Array<{ name: string; text: string; want: Record<string, unknown> }> = [
    { name: "name only", text: "250 mx.example\r\n", want: { serverName: "mx.example", greeting: "", pipelining: false, size: undefined } },
    { name: "SIZE without limit", text: "250-mx\r\n250 SIZE\r\n", want: { size: 0 } },
    { name: "SIZE garbage", text: "250-mx\r\n250 SIZE lots\r\n", want: { size: 0 } },
    { name: "lower-case keywords", text: "250-mx\r\n250-pipelining\r\n250 smtputf8\r\n", want: { pipelining: true, smtpUtf8: true } },
    { name: "free text lines ignored", text: "250-mx\r\n250-Welcome, friend!\r\n250 8BITMIME\r\n", want: { eightBitMime: true } },
    { name: "tabs between params", text: "250-mx\r\n250 SIZE\t1000\r\n", want: { size: 1000 } },
    { name: "no ENHANCEDSTATUSCODES", text: "250-mx\r\n250 DSN\r\n", want: { enhancedStatusCodes: false, dsn: true, prdr: false } },
  ];
  it.each(table)("$name", ({ text, want }) => {
    expect(parseEhlo(reply(text))).toMatchObject(want);
  });

  it("HELO replies carry no extensions", () => {
    const c = heloCapabilities(reply("250-mx Hi\r\n250 PIPELINING\r\n"));
    expect(c.serverName).toBe("mx");
    expect(c.pipelining).toBe(false);
    expect(c.keywords.size).toBe(0);
  });
});
