import { decodeBase64, SaslExchange, type SaslStep } from "./auth";

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

describe("decodeBase64 (strict)", () => {
  test.each([
    ["", ""],
    ["YQ==", "a"],
    ["YWI=", "ab"],
    ["YWJj", "abc"],
    ["YQ", null],
    ["YQ=", null],
    ["Y===", null],
    ["YW Jj", null],
    ["YWJj\n", null],
    ["YW-j", null],
    ["YWJj====", null],
  ])("%p", (s, want) => {
    const got = decodeBase64(s);
    expect(got === null ? null : got.toString("utf8")).toBe(want);
  });
});

/** Runs an exchange: the initial response, then client lines; returns the steps. */
function exchange(mechanism: "PLAIN" | "LOGIN", initial: string | undefined, lines: string[]): SaslStep[] {
  const { exchange: x, step } = SaslExchange.start(mechanism, initial);
  const steps = [step];
  for (const line of lines) {
    if (x === null) break;
    steps.push(x.respond(line));
  }
  return steps;
}

const done = (mechanism: string, authzid: string, username: string, password: string): SaslStep => ({
  kind: "done",
  credentials: { mechanism, authzid, username, password } as never,
});
const err = (error: string, code: number, enhanced: string): object => ({ kind: "error", error, reply: expect.objectContaining({ code, enhanced }) as object });

describe("SaslExchange", () => {
  test.each<[string, "PLAIN" | "LOGIN", string | undefined, string[], object[]]>([
    ["PLAIN initial response", "PLAIN", b64("\0u\0p"), [], [done("PLAIN", "", "u", "p")]],
    ["PLAIN with authzid", "PLAIN", b64("z\0u\0p"), [], [done("PLAIN", "z", "u", "p")]],
    ["PLAIN after an empty challenge", "PLAIN", undefined, [b64("\0u\0pässwörd")], [{ kind: "challenge", challenge: "" }, done("PLAIN", "", "u", "pässwörd")]],
    ["PLAIN with one NUL", "PLAIN", b64("u\0p"), [], [err("auth_malformed", 501, "5.5.2")]],
    ["PLAIN with three NULs", "PLAIN", b64("\0u\0p\0q"), [], [err("auth_malformed", 501, "5.5.2")]],
    ["PLAIN with an empty user", "PLAIN", b64("\0\0p"), [], [err("auth_malformed", 501, "5.5.2")]],
    ["PLAIN with an empty password", "PLAIN", b64("\0u\0"), [], [err("auth_malformed", 501, "5.5.2")]],
    ["PLAIN with invalid UTF-8", "PLAIN", Buffer.from([0, 0x75, 0, 0xff]).toString("base64"), [], [err("auth_malformed", 501, "5.5.2")]],
    ["PLAIN = (empty)", "PLAIN", "=", [], [err("auth_malformed", 501, "5.5.2")]],
    ["PLAIN bad base64", "PLAIN", "a", [], [err("auth_malformed", 501, "5.5.2")]],
    ["* as initial response is not a cancel", "PLAIN", "*", [], [err("auth_malformed", 501, "5.5.2")]],
    ["PLAIN cancelled", "PLAIN", undefined, ["*"], [{ kind: "challenge", challenge: "" }, err("auth_cancelled", 501, "5.0.0")]],
    [
      "LOGIN",
      "LOGIN",
      undefined,
      [b64("u"), b64("p")],
      [{ kind: "challenge", challenge: "VXNlcm5hbWU6" }, { kind: "challenge", challenge: "UGFzc3dvcmQ6" }, done("LOGIN", "", "u", "p")],
    ],
    ["LOGIN with initial username", "LOGIN", b64("u"), [b64("p")], [{ kind: "challenge", challenge: "UGFzc3dvcmQ6" }, done("LOGIN", "", "u", "p")]],
    ["LOGIN empty username", "LOGIN", undefined, [""], [{ kind: "challenge", challenge: "VXNlcm5hbWU6" }, err("auth_malformed", 501, "5.5.2")]],
    ["LOGIN empty password", "LOGIN", b64("u"), [""], [{ kind: "challenge", challenge: "UGFzc3dvcmQ6" }, err("auth_malformed", 501, "5.5.2")]],
    ["LOGIN NUL in the password", "LOGIN", b64("u"), [b64("p\0q")], [{ kind: "challenge", challenge: "UGFzc3dvcmQ6" }, err("auth_malformed", 501, "5.5.2")]],
    ["LOGIN cancelled at the password", "LOGIN", b64("u"), ["*"], [{ kind: "challenge", challenge: "UGFzc3dvcmQ6" }, err("auth_cancelled", 501, "5.0.0")]],
  ])("%s", (_name, mechanism, initial, lines, want) => {
    expect(exchange(mechanism, initial, lines)).toEqual(want);
  });
});
