import { Event } from "@postern/proto";
import { encodeConnectionEvent } from "./events";

describe("encodeConnectionEvent", () => {
  const long = "x".repeat(300);
  test.each([
    ["tcp:connect", 1_764_240_000_123, { client_ip: "192.0.2.1", client_port: "43210", local_ip: "198.51.100.7", local_port: "25" }],
    ["smtp:ehlo", 1_764_240_000_000, { client_ip: "2001:db8::1", helo: "mail.example.org", verb: "EHLO" }],
    ["smtp:ehlo", 1_764_240_000_999, { client_ip: "192.0.2.1", helo: "bücher.example ✉", verb: "HELO" }],
    ["smtp:connect", 999, { client_ip: "192.0.2.1", proxy_host_address: "" }],
    ["tcp:close", 0, {}],
    ["tcp:close", 1_000, { "": "empty key", [long]: long }],
  ])("%s at %d is Event.encode's bytes", (name, timeMs, attributes) => {
    const id = "6f1c2b9e-3c1d-4b7a-9a51-0c2f1e4d5a6b";
    const host = name === "tcp:close" ? "" : "edge-1.example";
    const bytes = encodeConnectionEvent(id, name, timeMs, host, attributes);
    const want = Event.encode(Event.fromPartial({ id, name, time: new Date(timeMs), host, attributes })).finish();
    expect(Buffer.from(bytes).toString("hex")).toBe(Buffer.from(want).toString("hex"));
    expect(Event.decode(bytes)).toEqual(Event.fromPartial({ id, name, time: new Date(timeMs), host, attributes }));
  });
});
