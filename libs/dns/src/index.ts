/**
 * @postern/dns — the DNS client every Postern verdict rests on: it asks recursive resolvers
 * and checks what comes back.
 *
 * What it does: sends recursive queries to the configured servers (or the `nameserver`
 * lines of /etc/resolv.conf, else 127.0.0.1:53 and [::1]:53) over UDP, retrying over TCP
 * when the answer is truncated, and returns a typed Outcome for every query: answer
 * (records, ttl, authenticated), nxdomain, nodata, servfail, timeout, refused or error.
 * Nothing is thrown for DNS failures. Servers are tried in order, `attempts` passes over
 * the list, each attempt bounded by `timeoutMs`. The steps are composable Handlers
 * (withRetry, withDedup, withCache, withNameCheck, withMetrics); createResolver stacks them
 * and adds typed lookups a/aaaa/mx/txt/ptr/tlsa. The cache follows Postfix's ctable (explicit
 * key + loader, injectable LRU storage and clock).
 *
 * STANDARDS: RFC 1035 (messages, rcodes, name limits), RFC 6891 (EDNS0: OPT with a
 * 1232-octet UDP size), RFC 4035 3.2 and RFC 6840 5.7 (DO set, AD asked for and reported,
 * CD never set), RFC 2308 (negative caching by min(SOA TTL, SOA MINIMUM), capped),
 * RFC 7766 (TCP with 2-octet length framing), RFC 5452 (random 16-bit IDs from
 * crypto.randomInt, a fresh socket and OS-chosen source port per query, strict matching),
 * RFC 4343 (ASCII case-insensitive names), RFC 3596 (ip6.arpa reverse names).
 *
 * SECURITY: every response is hostile until matched. A UDP response counts only if it comes
 * from the server's address and port (the socket is also connected), carries our ID, QR and
 * opcode QUERY, and repeats our one question (name case-insensitively, type, class IN);
 * anything else, and anything that does not decode, is ignored and counted while we keep
 * waiting until the timeout, so a forged early packet cannot win or end the wait. Answer
 * records are used only when they are class IN and owned by the queried name or the end of
 * its CNAME chain; the chain is bounded (8 hops) and loops are errors. Message size is
 * bounded by the 16-bit length of TCP framing and UDP datagrams; names are checked
 * (≤ 253 octets, labels 1-63) before anything is sent. Before dns-packet decodes a response,
 * screen.ts bounds the work it will do (≤ 64 compression pointer hops per name, names
 * ≤ 255 octets, record counts that fit the length, a name-work budget per octet); a
 * refused response counts as undecodable. The AD bit is reported, not
 * verified: it means "validated" only when the resolver is a validating one reached over a
 * path nobody can tamper with (loopback, as in ../shared/labs/dnssec); do not make DANE or
 * other security decisions on `authenticated` from a remote resolver.
 *
 * DIAGNOSTICS: no logging. Failures are outcomes; `{ kind: "error" }` carries a stable code
 * (DnsErrorCode: POSTERN_DNS_INVALID_NAME, _NETWORK, _BAD_RESPONSE, _CNAME_CHAIN) and a
 * reason naming the server and socket error. The `onQuery` hook receives one QueryEvent per
 * call (name, type, outcome, server, ms, cached, shared, transport, ignored, authenticated);
 * dnsMetricNames lists the metric names services should use. DnsConfigError
 * (POSTERN_DNS_CONFIG_INVALID) is thrown by createResolver for options that cannot work.
 */
export { createResolver, parseServers, DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT_MS, type Resolver, type ResolverOptions } from "./resolver";
export type {
  AnswerOutcome,
  DnsRecord,
  ErrorOutcome,
  Exchange,
  ExchangeResult,
  Failure,
  Handler,
  NoDataOutcome,
  NxDomainOutcome,
  Outcome,
  Query,
  QueryType,
  RefusedOutcome,
  Resolution,
  Server,
  ServFailOutcome,
  TimeoutOutcome,
} from "./types";
export { OutcomeKind } from "./types";
export { DnsConfigError, DnsErrorCode } from "./errors";
export { dnsMetricNames, type QueryEvent } from "./diagnostics";
export { type MxRecord, type PolicyOutcome, type TlsaRecord, mapOutcome, toPolicyOutcome, txtOf } from "./records";
export { checkName, canonicalName, sameName, reverseName, MAX_LABEL_OCTETS, MAX_NAME_OCTETS, type NameCheck } from "./names";
export { offHostServers, parseServer, parseResolvConf, systemServers, DEFAULT_SERVERS } from "./servers";
export {
  withCache,
  withDedup,
  withMetrics,
  withNameCheck,
  withRetry,
  queryKey,
  cacheTtl,
  DEFAULT_MAX_TTL_S,
  DEFAULT_NEGATIVE_TTL_CAP_S,
  type CacheOptions,
  type RetryOptions,
} from "./wrappers";
export { LruStore, TtlCache, DEFAULT_MAX_ENTRIES, type CacheEntry, type CacheResult, type CacheStore, type TtlCacheOptions } from "./cache";
export { classify, negativeTtl, DEFAULT_MAX_CNAME_CHAIN } from "./classify";
export { wireExchange, udpQuery, tcpQuery, type WireExchangeOptions, type WireResult } from "./transport";
export { EDNS_UDP_SIZE, encodeQuery, decodeMessage, matchesQuery, newQueryId, type Message } from "./message";
