import { Event } from "@postern/proto";
import { streamFields } from "./redis-fields";

describe("streamFields", () => {
  it.each([
    [
      "a delivery",
      Event.fromPartial({ id: "e1", name: "msg:delivery", time: new Date("2026-11-27T10:00:00Z"), sequence: "5", messageId: "m1", senderAddress: "a@example.org", deliveryPort: 25, deliveryDomain: "example.net" }),
      ["id", "e1", "name", "msg:delivery", "time", "2026-11-27T10:00:00.000Z", "sequence", "5", "message_id", "m1", "sender_address", "a@example.org", "delivery_port", "25", "delivery_domain", "example.net"],
    ],
    [
      "a deferral with attributes",
      Event.fromPartial({ id: "e2", name: "msg:rcpt:defer", time: new Date(0), sequence: "6", deferErrno: 111, deferErrstr: "refused", attributes: { a: "1" } }),
      ["id", "e2", "name", "msg:rcpt:defer", "time", "1970-01-01T00:00:00.000Z", "sequence", "6", "message_id", "", "defer_errno", "111", "defer_errstr", "refused", "attributes", '{"a":"1"}'],
    ],
  ])("%s", (_label, event, want) => {
    expect(streamFields(event)).toEqual(want);
  });
});
