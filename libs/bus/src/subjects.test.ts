import { InvalidEventError } from "./errors";
import { subjects } from "./subjects";

describe("subjects.event", () => {
  const ok: Array<[string, string]> = [
    ["msg:delivery", "postern.event.msg.delivery"],
    ["msg:rcpt:host:defer", "postern.event.msg.rcpt.host.defer"],
    ["tcp:connect", "postern.event.tcp.connect"],
    ["ocsp:refresh", "postern.event.ocsp.refresh"],
    ["custom_thing-1", "postern.event.custom_thing-1"],
  ];
  it.each(ok)("%s -> %s", (name, want) => {
    expect(subjects.event(name)).toBe(want);
  });

  const bad = ["", "msg:", ":msg", "msg::x", "msg.delivery", "msg:*", "msg:>", "msg delivery", "msg:dé", "a".repeat(201)];
  it.each(bad)("refuses %j", (name) => {
    expect(() => subjects.event(name)).toThrow(InvalidEventError);
  });

  it("builds filters with * and a final >", () => {
    expect(subjects.eventFilter("msg:*")).toBe("postern.event.msg.*");
    expect(subjects.eventFilter("msg:>")).toBe("postern.event.msg.>");
    expect(subjects.eventFilter("msg:*:defer")).toBe("postern.event.msg.*.defer");
    expect(() => subjects.eventFilter("msg:>:x")).toThrow(InvalidEventError);
    expect(() => subjects.eventFilter("msg.x")).toThrow(InvalidEventError);
  });

  it("keeps every event under eventsAll", () => {
    expect(subjects.eventsAll).toBe("postern.event.>");
    expect(subjects.mailQueued.startsWith(subjects.mailAll.slice(0, -1))).toBe(true);
  });
});
