import { Event } from "@postern/proto";
import { COLUMNS, eventRow, insertStatement, pendingMigrations } from "./postgres-schema";

describe("the Postgres sink's SQL", () => {
  const full = Event.fromPartial({
    id: "e1",
    sequence: "42",
    name: "msg:delivery",
    time: new Date("2026-11-27T10:00:00Z"),
    messageId: "m1",
    senderAddress: "a@example.org",
    deliveryIp: "192.0.2.1",
    deliveryPort: 25,
    deliveryFqdn: "mx.example.net",
    deliveryLocalPart: "bob",
    deliveryDomain: "example.net",
    deliveryConfirmation: "250 ok",
    deferErrno: 0,
    routerName: "dnslookup",
    transportName: "smtp",
    host: "postern-1",
    attributes: { size: "1234" },
  });

  it.each([
    [
      "every TPDA field as a column",
      full,
      ["e1", "42", "msg:delivery", new Date("2026-11-27T10:00:00Z"), "m1", "a@example.org", "192.0.2.1", 25, "mx.example.net", "bob", "example.net", "250 ok", null, null, "dnslookup", "smtp", "postern-1", '{"size":"1234"}'],
    ],
    [
      "empty fields as NULL",
      Event.fromPartial({ id: "e2", sequence: "7", name: "msg:rcpt:defer", time: new Date(0), deferErrno: 111, deferErrstr: "refused" }),
      ["e2", "7", "msg:rcpt:defer", new Date(0), "", null, null, null, null, null, null, null, 111, "refused", null, null, null, "{}"],
    ],
    [
      "NUL removed, Postgres refuses it",
      Event.fromPartial({ id: "e\u00003", sequence: "8", name: "msg:delivery", time: new Date(0), deferErrstr: "a\u0000b", attributes: { "k\u0000": "v\u0000" } }),
      ["e3", "8", "msg:delivery", new Date(0), "", null, null, null, null, null, null, null, null, "ab", null, null, null, '{"k":"v"}'],
    ],
  ])("eventRow: %s", (_label, event, want) => {
    const row = eventRow(event);
    expect(row).toHaveLength(COLUMNS.length);
    expect(row).toEqual(want);
  });

  it("inserts a batch in one parameterised statement and skips stored ids", () => {
    const { text, values } = insertStatement([full, full]);
    expect(text).toMatch(/^INSERT INTO postern_delivery_events \(id, sequence, name, time, message_id, sender_address, .* attributes\) VALUES \(\$1, .*\$18\), \(\$19, .*\$36\) ON CONFLICT \(id\) DO NOTHING$/);
    expect(values).toHaveLength(36);
    expect(text).not.toContain("example");
  });

  it.each([
    [[], [1]],
    [[1], []],
  ])("pendingMigrations(%j) = versions %j", (applied, want) => {
    expect(pendingMigrations(applied).map((m) => m.version)).toEqual(want);
  });
});
