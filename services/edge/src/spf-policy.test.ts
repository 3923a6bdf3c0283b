import { SpfResult } from "@postern/proto";
import { parseSpfCondition, resultName, type SpfCondition, spfReply, type SpfResultName } from "./spf-policy";

const condition = (list: string | string[]): SpfCondition => {
  const c = parseSpfCondition(list);
  if ("error" in c) throw new Error(c.error);
  return c;
};

describe("SPF conditions (Exim list semantics)", () => {
  it.each<[string | string[], SpfResultName, boolean]>([
    ["fail", "fail", true],
    ["fail", "softfail", false],
    ["fail : softfail", "softfail", true],
    [["fail", "softfail"], "softfail", true],
    ["!pass", "fail", true],
    ["!pass", "pass", false],
    ["!fail : softfail", "softfail", true],
    ["!fail : softfail", "fail", false],
    ["err_perm", "permerror", true],
    ["err_temp", "temperror", true],
    ["ERR_TEMP", "temperror", true],
    ["", "fail", false],
  ])("%j matches %s: %s", (list, result, want) => {
    expect(condition(list).matches(result)).toBe(want);
  });

  it.each([["fial"], ["fail : nope"], ["!"]])("refuses %j", (list) => {
    expect(parseSpfCondition(list)).toEqual({ error: expect.stringMatching(/^not an SPF result/) as unknown });
  });

  it.each<[SpfResultName, string | null]>([
    ["fail", "550 5.7.23"],
    ["temperror", "451 4.7.24"],
    ["softfail", null],
    ["pass", null],
    ["permerror", null],
  ])("default policy: %s → %s", (result, want) => {
    const r = spfReply({ reject: condition("fail"), defer: condition("temperror") }, result, "");
    expect(r === null ? null : `${r.code} ${r.enhanced ?? ""}`).toBe(want);
  });

  it("uses the SPF service's SMTP comment in a rejection", () => {
    const r = spfReply({ reject: condition("fail"), defer: condition("temperror") }, "fail", "Please see https://example.org/why");
    expect(r?.lines).toEqual(["Please see https://example.org/why"]);
  });

  it("maps wire results, unknown ones to temperror", () => {
    expect(resultName(SpfResult.SPF_RESULT_SOFTFAIL)).toBe("softfail");
    expect(resultName(SpfResult.SPF_RESULT_UNSPECIFIED)).toBe("temperror");
  });
});
