/**
 * @postern/dns → libspf's SpfDns. The resolver's outcomes map onto the five
 * libspf knows: REFUSED and local errors (bad response, network, CNAME loop)
 * are servfail, an answer without records of the type is nodata.
 */
import { type Outcome, type Resolver } from "@postern/dns";
import { type DnsOutcome, type SpfDns } from "@postern/libspf";

export function toSpfOutcome<R>(outcome: Outcome<R>): DnsOutcome<readonly R[]> {
  switch (outcome.kind) {
    case "answer":
      return outcome.records.length === 0 ? { kind: "nodata" } : { kind: "answer", records: outcome.records };
    case "nxdomain":
    case "nodata":
    case "servfail":
    case "timeout":
      return { kind: outcome.kind };
    case "refused":
    case "error":
      return { kind: "servfail" };
  }
}

/** The resolver as libspf wants it. */
export function spfDnsFromResolver(resolver: Pick<Resolver, "txt" | "a" | "aaaa" | "mx" | "ptr">): SpfDns {
  return {
    txt: async (name) => toSpfOutcome(await resolver.txt(name)),
    a: async (name) => toSpfOutcome(await resolver.a(name)),
    aaaa: async (name) => toSpfOutcome(await resolver.aaaa(name)),
    mx: async (name) => toSpfOutcome(await resolver.mx(name)),
    ptr: async (name) => toSpfOutcome(await resolver.ptr(name)),
  };
}
