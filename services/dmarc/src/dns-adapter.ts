/** @postern/dns → the resolvers libdmarc and libdkim want (outcomes collapsed by toPolicyOutcome). */
import { type DkimDns } from "@postern/dkim";
import { type Resolver, toPolicyOutcome } from "@postern/dns";
import { type DmarcDns } from "@postern/libdmarc";

export function dmarcDnsFromResolver(resolver: Pick<Resolver, "txt" | "a">): DmarcDns {
  return {
    txt: async (name) => toPolicyOutcome(await resolver.txt(name)),
    a: async (name) => toPolicyOutcome(await resolver.a(name)),
  };
}

/** libdkim only needs TXT, with the same outcome kinds. */
export function dkimDnsFromDmarcDns(dns: DmarcDns): DkimDns {
  return { txt: (name) => dns.txt(name) };
}
