/** @postern/dns → the resolvers libdmarc and libdkim want (outcomes collapsed by toPolicyOutcome). */
import { type DkimDns } from "@postern/dkim";
import { type Resolver, toPolicyOutcome } from "@postern/dns";
import { type DmarcDns } from "@postern/libdmarc";

export function dmarcDnsFromResolver(resolver: Pick<Resolver, "txt" | "a">): DmarcDns {
  return {
    // .then rather than an async arrow: one promise per query instead of two
    txt: (name) => resolver.txt(name).then(toPolicyOutcome),
    a: (name) => resolver.a(name).then(toPolicyOutcome),
  };
}

/** libdkim only needs TXT, with the same outcome kinds. */
export function dkimDnsFromDmarcDns(dns: DmarcDns): DkimDns {
  return { txt: (name) => dns.txt(name) };
}
