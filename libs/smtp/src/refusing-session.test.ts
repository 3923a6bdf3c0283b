import { reply } from "./reply";
import { RefusingSession } from "./refusing-session";

const refusal = reply(503, "5.7.0", "Command refused, required Proxy negotiation failed");
const session = (maxCommands = 20): RefusingSession => new RefusingSession({ hostname: "mx.test", refusal, maxCommands, maxLineBytes: 16 });

describe("RefusingSession", () => {
  it("greets like a normal server", () => {
    expect(session().greet()).toBe("220 mx.test ESMTP Postern\r\n");
  });

  it.each([
    ["EHLO refused", "EHLO x\r\n", "503 5.7.0 Command refused, required Proxy negotiation failed\r\n", false],
    ["pipelined commands each refused", "EHLO x\r\nMAIL FROM:<a@b>\r\n", "503 5.7.0 Command refused, required Proxy negotiation failed\r\n".repeat(2), false],
    ["QUIT accepted", "QUIT\r\n", "221 2.0.0 Bye\r\n", true],
    ["quit in lower case with a bare LF", "quit\n", "221 2.0.0 Bye\r\n", true],
    ["nothing after QUIT is answered", "QUIT\r\nNOOP\r\n", "221 2.0.0 Bye\r\n", true],
    ["a partial line waits", "EHL", "", false],
    ["an over-long line is one refused command", `${"Q".repeat(100)}UIT\r\n`, "503 5.7.0 Command refused, required Proxy negotiation failed\r\n", false],
    ["QUIT hidden after 16 bytes is not QUIT", `${" ".repeat(20)}QUIT\r\n`, "503 5.7.0 Command refused, required Proxy negotiation failed\r\n", false],
  ])("%s", (_label, input, wantOutput, wantClose) => {
    const whole = session().feed(Buffer.from(input));
    expect(whole).toEqual({ output: wantOutput, close: wantClose });
    const s = session();
    let output = "";
    let close = false;
    for (const byte of Buffer.from(input)) {
      const r = s.feed(Buffer.of(byte));
      output += r.output;
      close ||= r.close;
    }
    expect({ output, close }).toEqual({ output: wantOutput, close: wantClose });
  });

  it("closes with 421 after too many refused commands", () => {
    const r = session(3).feed(Buffer.from("A\r\nB\r\nC\r\nD\r\n"));
    expect(r.close).toBe(true);
    expect(r.output.split("\r\n").filter(Boolean)).toEqual([
      "503 5.7.0 Command refused, required Proxy negotiation failed",
      "503 5.7.0 Command refused, required Proxy negotiation failed",
      "421 4.7.0 Error: too many errors, closing connection",
    ]);
  });
});
