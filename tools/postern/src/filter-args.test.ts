import { parseFilterArgs, parseSince } from "./filter-args";

describe("--filter", () => {
  it.each([
    [[], {}, { names: [], senderDomains: [], recipientDomains: [], messageId: "" }],
    [["name=msg:*"], {}, { names: ["msg:*"], senderDomains: [], recipientDomains: [], messageId: "" }],
    [["name=msg:delivery,recipient=example.net", "recipient=*.example.org", "sender=example.com"], {}, { names: ["msg:delivery"], senderDomains: ["example.com"], recipientDomains: ["example.net", "*.example.org"], messageId: "" }],
    [["message=1abc-XY"], {}, { names: [], senderDomains: [], recipientDomains: [], messageId: "1abc-XY" }],
    [["Domain = example.net"], { names: ["tcp:>"] }, { names: ["tcp:>"], senderDomains: [], recipientDomains: ["example.net"], messageId: "" }],
    [["colour=blue"], {}, { error: '--filter "colour=blue": expected name=PATTERN, sender=DOMAIN, recipient=DOMAIN or message=ID' }],
    [["name"], {}, { error: '--filter "name": expected name=PATTERN, sender=DOMAIN, recipient=DOMAIN or message=ID' }],
    [["sender="], {}, { error: '--filter "sender=": expected name=PATTERN, sender=DOMAIN, recipient=DOMAIN or message=ID' }],
    [["message=a", "message=b"], {}, { error: "--filter: only one message id" }],
  ])("parseFilterArgs(%j, %j)", (exprs, base, want) => {
    expect(parseFilterArgs(exprs, base)).toEqual(want);
  });
});

describe("--since", () => {
  const now = new Date("2026-11-27T12:00:00.000Z");
  it.each([
    ["90s", new Date("2026-11-27T11:58:30.000Z")],
    ["15m", new Date("2026-11-27T11:45:00.000Z")],
    ["2h", new Date("2026-11-27T10:00:00.000Z")],
    ["7d", new Date("2026-11-20T12:00:00.000Z")],
    ["2026-11-27T10:00:00Z", new Date("2026-11-27T10:00:00.000Z")],
    ["2026-11-27", new Date("2026-11-27T00:00:00.000Z")],
    ["yesterday", { error: '--since "yesterday": expected an ISO 8601 time (2026-11-27T10:00:00Z) or a duration (90s, 15m, 2h, 7d)' }],
    ["2026-13-45", { error: '--since "2026-13-45": expected an ISO 8601 time (2026-11-27T10:00:00Z) or a duration (90s, 15m, 2h, 7d)' }],
    ["5w", { error: '--since "5w": expected an ISO 8601 time (2026-11-27T10:00:00Z) or a duration (90s, 15m, 2h, 7d)' }],
  ])("parseSince(%j)", (value, want) => {
    expect(parseSince(value, now)).toEqual(want);
  });
});
