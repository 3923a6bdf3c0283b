import { explainsAbsence, judge } from "./accounting";

const t = { chaosId: "chaos-1-0-0", queueId: "Q1" };
const ev = (names: string[], possibleDuplicate = false): { names: string[]; possibleDuplicate: boolean } => ({ names, possibleDuplicate });

describe("chaos accounting rule (ADR 0007)", () => {
  it.each([
    { name: "delivered once", copies: 1, events: undefined, ok: true, how: "once" },
    { name: "once, even with a flagged duplicate event", copies: 1, events: ev(["msg:delivery"], true), ok: true, how: "once" },
    { name: "twice, flagged possible_duplicate", copies: 2, events: ev(["msg:delivery", "msg:delivery"], true), ok: true, how: "flagged-duplicate" },
    { name: "twice, not flagged", copies: 2, events: ev(["msg:delivery", "msg:complete"]), ok: false, how: "duplicate" },
    { name: "twice, no events at all", copies: 2, events: undefined, ok: false, how: "duplicate" },
    { name: "absent, failed delivery event", copies: 0, events: ev(["msg:fail:delivery"]), ok: true, how: "explained" },
    { name: "absent, internal failure event", copies: 0, events: ev(["msg:fail:internal", "msg:complete"]), ok: true, how: "explained" },
    { name: "absent, only a defer (a retry is promised)", copies: 0, events: ev(["msg:rcpt:host:defer"]), ok: false, how: "lost" },
    { name: "absent, no events", copies: 0, events: undefined, ok: false, how: "lost" },
  ])("$name", ({ copies, events, ok, how }) => {
    expect(judge(t, copies, events)).toMatchObject({ ok, how });
  });

  it("names the message in a violation", () => {
    const v = judge(t, 0, undefined);
    expect(v.ok ? "" : v.detail).toContain("chaos-1-0-0 (id=Q1)");
  });

  it.each([
    ["msg:fail:delivery", true],
    ["msg:fail:internal", true],
    ["msg:rcpt:fail", true],
    ["msg:delivery", false],
    ["msg:complete", false],
    ["msg:host:defer", false],
    ["msg:rcpt:defer", false],
  ])("%s explains an absence: %s", (name, want) => {
    expect(explainsAbsence(name)).toBe(want);
  });
});
