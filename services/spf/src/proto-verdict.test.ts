import { createSpfChecker, spfResults, type SpfResult as LibSpfResult, type SpfVerdict as LibSpfVerdict } from "@postern/libspf";
import { SpfCheckRequest, SpfResult, SpfVerdict } from "@postern/proto";
import { refusal, toCheckInput, toProtoVerdict } from "./proto-verdict";
import { zoneDns } from "./testing/harness";

function libVerdict(result: LibSpfResult, extra: Partial<LibSpfVerdict> = {}): LibSpfVerdict {
  return {
    result,
    domain: "example.org",
    identity: "mailfrom",
    guessed: false,
    lookups: 1,
    voidLookups: 0,
    receivedSpf: `${result} (mx.test: comment) client-ip=192.0.2.1;`,
    authenticationResults: `spf=${result} smtp.mailfrom=a@example.org`,
    exim: { spf_result: result, spf_result_guessed: false, spf_header_comment: "header comment", spf_smtp_comment: "smtp comment", spf_received: "Received-SPF: x" },
    ...extra,
  };
}

describe("toProtoVerdict", () => {
  const table: Array<{ result: LibSpfResult; want: SpfResult }> = [
    { result: "none", want: SpfResult.SPF_RESULT_NONE },
    { result: "neutral", want: SpfResult.SPF_RESULT_NEUTRAL },
    { result: "pass", want: SpfResult.SPF_RESULT_PASS },
    { result: "fail", want: SpfResult.SPF_RESULT_FAIL },
    { result: "softfail", want: SpfResult.SPF_RESULT_SOFTFAIL },
    { result: "temperror", want: SpfResult.SPF_RESULT_TEMPERROR },
    { result: "permerror", want: SpfResult.SPF_RESULT_PERMERROR },
  ];

  it("covers every libspf result", () => {
    expect(table.map((c) => c.result).sort()).toEqual(Object.values(spfResults).sort());
  });

  it.each(table)("$result → enum $want, every field carried", ({ result, want }) => {
    const explanation = result === "fail" ? { explanation: "not allowed" } : {};
    const v = toProtoVerdict(libVerdict(result, explanation), "txn-1");
    expect(v).toEqual({
      txnId: "txn-1",
      result: want,
      domain: "example.org",
      smtpComment: "smtp comment",
      headerComment: "header comment",
      receivedSpf: `${result} (mx.test: comment) client-ip=192.0.2.1;`,
      explanation: result === "fail" ? "not allowed" : "",
      identity: "mailfrom",
    });
    // survives the wire unchanged
    expect(SpfVerdict.decode(SpfVerdict.encode(v).finish())).toEqual(v);
  });
});

describe("request → check → proto verdict (in-memory zone)", () => {
  const checker = createSpfChecker(zoneDns(), { receiver: "spf.test" });
  const cases: Array<{ name: string; req: Partial<SpfCheckRequest>; want: Partial<SpfVerdict>; wantReceived: RegExp }> = [
    { name: "pass, IPv4", req: { ip: "192.0.2.10", sender: "a@pass.test", helo: "h.test" }, want: { result: SpfResult.SPF_RESULT_PASS, domain: "pass.test", identity: "mailfrom" }, wantReceived: /^pass \(spf\.test: .*client-ip=192\.0\.2\.10;/ },
    { name: "pass, IPv6", req: { ip: "2001:db8::25", sender: "a@pass.test", helo: "h.test" }, want: { result: SpfResult.SPF_RESULT_PASS }, wantReceived: /client-ip="2001:db8::25";/ },
    { name: "fail with exp=", req: { ip: "203.0.113.5", sender: "a@fail.test", helo: "h.test" }, want: { result: SpfResult.SPF_RESULT_FAIL, explanation: "203.0.113.5 is not one of fail.test's designated mail servers" }, wantReceived: /^fail / },
    { name: "softfail", req: { ip: "203.0.113.5", sender: "a@soft.test", helo: "h.test" }, want: { result: SpfResult.SPF_RESULT_SOFTFAIL, explanation: "" }, wantReceived: /^softfail / },
    { name: "neutral", req: { ip: "203.0.113.5", sender: "a@neutral.test", helo: "h.test" }, want: { result: SpfResult.SPF_RESULT_NEUTRAL }, wantReceived: /^neutral / },
    { name: "none", req: { ip: "203.0.113.5", sender: "a@nospf.test", helo: "h.test" }, want: { result: SpfResult.SPF_RESULT_NONE }, wantReceived: /^none / },
    { name: "permerror", req: { ip: "203.0.113.5", sender: "a@broken.test", helo: "h.test" }, want: { result: SpfResult.SPF_RESULT_PERMERROR }, wantReceived: /^permerror / },
    { name: "temperror", req: { ip: "203.0.113.5", sender: "a@slow.test", helo: "h.test" }, want: { result: SpfResult.SPF_RESULT_TEMPERROR }, wantReceived: /^temperror / },
    { name: "HELO identity", req: { ip: "198.51.100.7", sender: "a@other.test", helo: "mx.test", checkHelo: true }, want: { result: SpfResult.SPF_RESULT_PASS, domain: "mx.test", identity: "helo" }, wantReceived: /^pass / },
    { name: "null sender checks HELO", req: { ip: "2001:db8:5::7", sender: "", helo: "mx.test" }, want: { result: SpfResult.SPF_RESULT_PASS, domain: "mx.test", identity: "helo" }, wantReceived: /^pass / },
  ];

  it.each(cases)("$name", async ({ req, want, wantReceived }) => {
    const v = toProtoVerdict(await checker.check(toCheckInput(SpfCheckRequest.fromPartial(req), false)), "t");
    expect(v).toMatchObject(want);
    expect(v.receivedSpf).toMatch(wantReceived);
    expect(v.smtpComment).not.toBe("");
  });

  it("spf_guess applies only when enabled", async () => {
    const req = SpfCheckRequest.fromPartial({ ip: "192.0.2.99", sender: "a@nospf.test", helo: "h.test" });
    expect((await checker.check(toCheckInput(req, false))).result).toBe("none");
    expect((await checker.check(toCheckInput(req, true))).result).toBe("pass");
  });
});

describe("refusal", () => {
  it("is a temperror in our words", () => {
    expect(refusal("t9", "spf.test", "SPF service busy")).toEqual(
      SpfVerdict.fromPartial({ txnId: "t9", result: SpfResult.SPF_RESULT_TEMPERROR, smtpComment: "spf.test: SPF service busy", headerComment: "spf.test: SPF service busy", receivedSpf: "temperror (spf.test: SPF service busy)" }),
    );
  });
});
