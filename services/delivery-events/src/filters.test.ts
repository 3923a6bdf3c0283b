import { Event } from "@postern/proto";
import {
  addressDomain,
  type EventFilter,
  filterProblem,
  isValidDomainPattern,
  matchAll,
  matchesDomainPattern,
  matchesFilter,
  sameFilter,
} from "./filters";

const filter = (f: Partial<EventFilter>): EventFilter => ({ ...matchAll, ...f });

describe("domain patterns", () => {
  it.each([
    ["example.org", true],
    ["Example.ORG.", true],
    ["*.example.org", true],
    ["localhost", true],
    ["", false],
    ["*", false],
    ["a..b", false],
    ["-a.example", false],
    ["exa mple.org", false],
    ["*.*.example.org", false],
    ["example.*", false],
  ])("isValidDomainPattern(%j) = %s", (pattern, want) => {
    expect(isValidDomainPattern(pattern)).toBe(want);
  });

  it.each([
    ["example.org", "example.org", true],
    ["example.org", "EXAMPLE.org.", true],
    ["example.org", "mail.example.org", false],
    ["*.example.org", "mail.example.org", true],
    ["*.example.org", "a.b.example.org", true],
    ["*.example.org", "example.org", false],
    ["*.example.org", "badexample.org", false],
    ["example.org", "", false],
  ])("matchesDomainPattern(%j, %j) = %s", (pattern, domain, want) => {
    expect(matchesDomainPattern(pattern, domain)).toBe(want);
  });

  it.each([
    ["a@example.org", "example.org"],
    ["A@Example.ORG", "example.org"],
    ['"odd@local"@example.net', "example.net"],
    ["", ""],
    ["postmaster", ""],
  ])("addressDomain(%j) = %j", (address, want) => {
    expect(addressDomain(address)).toBe(want);
  });
});

describe("matchesFilter", () => {
  const delivery = Event.fromPartial({ name: "msg:delivery", messageId: "m1", senderAddress: "a@example.org", deliveryDomain: "example.net" });
  it.each([
    ["everything", matchAll, true],
    ["the name", filter({ names: ["msg:delivery"] }), true],
    ["a name pattern", filter({ names: ["tcp:*", "msg:*"] }), true],
    ["another name", filter({ names: ["msg:rcpt:*"] }), false],
    ["the sender domain", filter({ senderDomains: ["example.com", "EXAMPLE.org"] }), true],
    ["another sender domain", filter({ senderDomains: ["example.net"] }), false],
    ["the recipient domain", filter({ recipientDomains: ["example.net"] }), true],
    ["a recipient subdomain pattern", filter({ recipientDomains: ["*.example.net"] }), false],
    ["the message id", filter({ messageId: "m1" }), true],
    ["another message id", filter({ messageId: "m2" }), false],
    ["all of them", filter({ names: ["msg:>"], senderDomains: ["example.org"], recipientDomains: ["example.net"], messageId: "m1" }), true],
    ["all but one", filter({ names: ["msg:>"], senderDomains: ["example.org"], recipientDomains: ["example.com"], messageId: "m1" }), false],
  ])("%s", (_label, f, want) => {
    expect(matchesFilter(f, delivery)).toBe(want);
  });

  it("never matches a sender domain for the null sender", () => {
    expect(matchesFilter(filter({ senderDomains: ["*.org"] }), Event.fromPartial({ name: "msg:delivery", senderAddress: "" }))).toBe(false);
  });
});

describe("filterProblem and sameFilter", () => {
  it.each([
    [matchAll, undefined],
    [filter({ names: ["msg:>:x"] }), 'invalid event pattern "msg:>:x"'],
    [filter({ senderDomains: ["exa mple"] }), 'invalid domain "exa mple"'],
    [filter({ recipientDomains: [""] }), 'invalid domain ""'],
    [filter({ messageId: "x".repeat(1025) }), "message_id is longer than 1024 characters"],
  ])("filterProblem(%#)", (f, want) => {
    expect(filterProblem(f)).toBe(want);
  });

  it("compares filters without regard to order, case or repetition", () => {
    expect(sameFilter(filter({ names: ["b", "a"], senderDomains: ["X.org"] }), filter({ names: ["a", "b", "a"], senderDomains: ["x.org."] }))).toBe(true);
    expect(sameFilter(filter({ names: ["a"] }), filter({ names: ["a"], messageId: "m" }))).toBe(false);
  });
});
