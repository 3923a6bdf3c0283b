import { Event } from "@postern/proto";
import { formatEventLine } from "./format";

describe("formatEventLine", () => {
  it.each([
    [
      "a delivery with TPDA fields",
      Event.fromPartial({
        name: "msg:delivery",
        time: new Date("2026-11-27T10:00:00.000Z"),
        sequence: "12",
        messageId: "m1",
        deliveryLocalPart: "user",
        deliveryDomain: "localhost",
        transportName: "maildir",
        deliveryConfirmation: "stored as new/1.eml",
      }),
      '2026-11-27T10:00:00.000Z seq=12 msg:delivery id=m1 local_part=user domain=localhost transport=maildir confirmation="stored as new/1.eml"',
    ],
    [
      "a deferral with errno and sorted attributes",
      Event.fromPartial({ name: "msg:rcpt:defer", deferErrno: 111, deferErrstr: "connection refused", attributes: { z: "1", a: "x y" } }),
      '- seq=- msg:rcpt:defer id=- errno=111 error="connection refused" a="x y" z=1',
    ],
  ])("%s", (_label, event, want) => {
    expect(formatEventLine(event)).toBe(want);
  });
});
