/** @postern/dns → libspf's SpfDns (outcomes collapsed by toPolicyOutcome). */
import { type Resolver, toPolicyOutcome } from "@postern/dns";
import { type SpfDns } from "@postern/libspf";

/** The resolver as libspf wants it. */
export function spfDnsFromResolver(resolver: Pick<Resolver, "txt" | "a" | "aaaa" | "mx" | "ptr">): SpfDns {
  return {
    txt: async (name) => toPolicyOutcome(await resolver.txt(name)),
    a: async (name) => toPolicyOutcome(await resolver.a(name)),
    aaaa: async (name) => toPolicyOutcome(await resolver.aaaa(name)),
    mx: async (name) => toPolicyOutcome(await resolver.mx(name)),
    ptr: async (name) => toPolicyOutcome(await resolver.ptr(name)),
  };
}
