/**
 * The DNS interface @postern/libdmarc needs, defined structurally (like
 * libspf's SpfDns, so one adapter over @postern/dns serves both). The library
 * opens no sockets.
 *
 * Contract for implementations:
 * - Names arrive without a trailing dot, in lower case, as A-labels.
 * - Follow CNAME chains yourself; callers only see the records of the asked type.
 * - `answer` carries at least one record; an empty answer is `nodata`.
 *   `nxdomain` is RCODE 3; `servfail` is any other error RCODE or a malformed
 *   reply; `timeout` is no usable reply in time.
 * - `txt` returns one entry per TXT record, each the list of its
 *   character-strings, decoded byte for byte (latin1).
 * - Never throw for a DNS condition; a throw is treated as a bug and becomes temperror.
 */
export type DnsOutcome<T> =
  | { readonly kind: "answer"; readonly records: T }
  | { readonly kind: "nxdomain" }
  | { readonly kind: "nodata" }
  | { readonly kind: "servfail" }
  | { readonly kind: "timeout" };

export interface DmarcDns {
  txt(name: string): Promise<DnsOutcome<readonly (readonly string[])[]>>;
  /** Only the outcome kind matters: it tells whether a name exists (RFC 9989 `np`). */
  a(name: string): Promise<DnsOutcome<readonly string[]>>;
}

export type DmarcQueryType = "TXT" | "A";
