/**
 * The DNS interface @postern/libspf needs, defined structurally so that any
 * resolver (libs/dns, the in-memory zone in testing/zone-dns.ts, a fake in a
 * test) can be passed in. The library opens no sockets.
 *
 * Contract for implementations (libs/dns adapts to this):
 *
 * - Names arrive without a trailing dot, possibly in mixed case; compare them
 *   case-insensitively. They may contain any printable ASCII character,
 *   space included (a macro can put `%`, `:`, `/` or a space into a name):
 *   encode each label's bytes as they are. libspf never passes a name with
 *   other characters, an empty label, a label over 63 characters or more than
 *   253 characters in all.
 * - Follow CNAME chains (and detect loops) yourself: callers only see the
 *   records of the asked type at the end of the chain. A loop is `servfail`.
 * - `answer` always carries at least one record; an empty answer section is
 *   `nodata`. `nxdomain` is RCODE 3, `nodata` is RCODE 0 with no records of the
 *   type, `servfail` is RCODE 2 or any other error RCODE or a malformed reply,
 *   `timeout` is no usable reply from any server in time.
 * - `txt` returns one entry per TXT record, each the list of its
 *   character-strings in order, decoded byte-for-byte (latin1), so that
 *   non-ASCII bytes stay visible as code points above U+007E. A record with no
 *   character-strings is an empty list.
 * - `a` and `aaaa` return addresses in text form (`192.0.2.1`, `2001:db8::1`).
 * - `mx` returns `{ preference, exchange }` with the exchange as a name
 *   (the null MX of RFC 7505 is `""` or `"."`).
 * - `ptr` takes the reverse name (`4.3.2.1.in-addr.arpa`, nibbles under
 *   `ip6.arpa`) and returns the target names.
 * - Never throw for a DNS condition: throwing is reserved for bugs. libspf turns
 *   a thrown error into `temperror` anyway.
 */

/** What a query produced. Exactly one of five outcomes. */
export type DnsOutcome<T> =
  | { readonly kind: "answer"; readonly records: T }
  | { readonly kind: "nxdomain" }
  | { readonly kind: "nodata" }
  | { readonly kind: "servfail" }
  | { readonly kind: "timeout" };

export type DnsOutcomeKind = DnsOutcome<unknown>["kind"];

export interface MxRecord {
  readonly preference: number;
  readonly exchange: string;
}

/** The resolver libspf is given. See the module comment for the contract. */
export interface SpfDns {
  txt(name: string): Promise<DnsOutcome<readonly (readonly string[])[]>>;
  a(name: string): Promise<DnsOutcome<readonly string[]>>;
  aaaa(name: string): Promise<DnsOutcome<readonly string[]>>;
  mx(name: string): Promise<DnsOutcome<readonly MxRecord[]>>;
  ptr(name: string): Promise<DnsOutcome<readonly string[]>>;
}

export type SpfQueryType = "TXT" | "A" | "AAAA" | "MX" | "PTR";
