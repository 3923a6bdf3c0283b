import { DnsErrorCode, type Outcome } from "@postern/dns";
import { type DnsOutcome } from "@postern/libspf";
import { spfDnsFromResolver, toSpfOutcome } from "./dns-adapter";

describe("toSpfOutcome", () => {
  const table: Array<{ name: string; outcome: Outcome<string>; want: DnsOutcome<readonly string[]> }> = [
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
    expect(toSpfOutcome(outcome)).toEqual(want);
  });

  it("routes each lookup to the resolver method of its type", async () => {
    const answer = <R>(records: R[]): Outcome<R> => ({ kind: "answer", records, authenticated: false, ttl: 1 });
    const dns = spfDnsFromResolver({
      txt: (n) => Promise.resolve(answer([[`txt ${n}`]])),
      a: (n) => Promise.resolve(answer([`a ${n}`])),
      aaaa: (n) => Promise.resolve(answer([`aaaa ${n}`])),
      mx: (n) => Promise.resolve(answer([{ preference: 5, exchange: `mx ${n}` }])),
      ptr: (n) => Promise.resolve(answer([`ptr ${n}`])),
    });
    expect(await dns.txt("x")).toEqual({ kind: "answer", records: [["txt x"]] });
    expect(await dns.a("x")).toEqual({ kind: "answer", records: ["a x"] });
    expect(await dns.aaaa("x")).toEqual({ kind: "answer", records: ["aaaa x"] });
    expect(await dns.mx("x")).toEqual({ kind: "answer", records: [{ preference: 5, exchange: "mx x" }] });
    expect(await dns.ptr("x")).toEqual({ kind: "answer", records: ["ptr x"] });
  });
});
