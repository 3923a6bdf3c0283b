import { isValidEventName, isValidEventPattern, matchesEventPattern } from "./event-names";

describe("event names", () => {
  it.each([
    ["msg:delivery", true],
    ["msg:rcpt:host:defer", true],
    ["tcp:connect", true],
    ["", false],
    ["msg:", false],
    [":msg", false],
    ["MSG:delivery", false],
    ["msg delivery", false],
    ["msg.delivery", false],
    ["msg:*", false],
    ["a".repeat(129), false],
  ])("isValidEventName(%j) = %s", (name, want) => {
    expect(isValidEventName(name)).toBe(want);
  });

  it.each([
    ["msg:*", true],
    ["msg:>", true],
    [">", true],
    ["*:delivery", true],
    ["msg:>:x", false],
    ["msg:**", false],
    ["msg:", false],
  ])("isValidEventPattern(%j) = %s", (pattern, want) => {
    expect(isValidEventPattern(pattern)).toBe(want);
  });

  it.each([
    ["msg:delivery", "msg:delivery", true],
    ["msg:*", "msg:delivery", true],
    ["msg:*", "msg:rcpt:defer", false],
    ["msg:>", "msg:rcpt:defer", true],
    ["msg:>", "msg", false],
    [">", "tcp:close", true],
    ["*:delivery", "msg:delivery", true],
    ["msg:delivery", "msg:delivery:x", false],
    ["msg:rcpt:*", "msg:rcpt", false],
  ])("matchesEventPattern(%j, %j) = %s", (pattern, name, want) => {
    expect(matchesEventPattern(pattern, name)).toBe(want);
  });
});
