import { toPolicyOutcome, type PolicyOutcome } from "./records";
import { DnsErrorCode } from "./errors";
import { type Outcome } from "./types";

describe("toPolicyOutcome", () => {
  const table: Array<{ name: string; outcome: Outcome<string>; want: PolicyOutcome<readonly string[]> }> = [
    { name: "answer", outcome: { kind: "answer", records: ["192.0.2.1"], authenticated: false, ttl: 60 }, want: { kind: "answer", records: ["192.0.2.1"] } },
    { name: "empty answer → nodata", outcome: { kind: "answer", records: [], authenticated: false, ttl: 60 }, want: { kind: "nodata" } },
    { name: "nxdomain", outcome: { kind: "nxdomain", authenticated: true, ttl: 30 }, want: { kind: "nxdomain" } },
    { name: "nodata", outcome: { kind: "nodata", authenticated: false, ttl: 30 }, want: { kind: "nodata" } },
    { name: "servfail", outcome: { kind: "servfail" }, want: { kind: "servfail" } },
    { name: "timeout", outcome: { kind: "timeout" }, want: { kind: "timeout" } },
    { name: "refused → servfail", outcome: { kind: "refused" }, want: { kind: "servfail" } },
    { name: "error → servfail", outcome: { kind: "error", code: DnsErrorCode.Network, reason: "ECONNREFUSED" }, want: { kind: "servfail" } },
  ];
  it.each(table)("$name", ({ outcome, want }) => {
    expect(toPolicyOutcome(outcome)).toEqual(want);
  });
});
