/**
 * @postern/dns → the resolvers libdmarc and libdkim want. REFUSED and local
 * errors are servfail; an answer without records of the type is nodata.
 */
import { type Outcome, type Resolver } from "@postern/dns";
import { type DkimDns } from "@postern/dkim";
import { type DmarcDns, type DnsOutcome } from "@postern/libdmarc";

export function toDmarcOutcome<R>(outcome: Outcome<R>): DnsOutcome<readonly R[]> {
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

export function dmarcDnsFromResolver(resolver: Pick<Resolver, "txt" | "a">): DmarcDns {
  return {
    txt: async (name) => toDmarcOutcome(await resolver.txt(name)),
    a: async (name) => toDmarcOutcome(await resolver.a(name)),
  };
}

/** libdkim only needs TXT, with the same outcome kinds. */
export function dkimDnsFromDmarcDns(dns: DmarcDns): DkimDns {
  return { txt: (name) => dns.txt(name) };
}
