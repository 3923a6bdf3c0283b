/**
 * @postern/hostlist — Exim-style host and domain lists, with Redis lookups.
 *
 * What it does: parses a list once (parseList, hostList, domainList; pure, table-tested) and
 * evaluates it for a client address or a domain, giving "match", "nomatch" or "defer" (with the
 * error). Lookup items are answered through the injected Lookup interface; createRedisLookup is
 * the Redis implementation (redis_servers tried in order, per-command timeout, a short answer
 * cache). hostListSchema / domainListSchema / redisServersSchema check configuration at
 * start-up.
 *
 * Syntax. A list is a string (`:` separators, `::` a literal colon; `<;`, `<,` or `<\n` at the
 * start changes the separator) or an array (already split). Items are trimmed; empty ones are
 * dropped. Any item may start with `!` (negation). Items left to right, first match decides;
 * a negated match is a no-match; no match at all is a no-match.
 *   host lists:   `*`; `192.0.2.1`, `10.0.0.0/8`, `2001:db8::/32` (IPv6 needs `<;` or an
 *                 array in practice); the tested address and IPv4-mapped items
 *                 (`::ffff:10.0.0.0/104`) are compared as IPv4. Host names, `@`, `@[]` and
 *                 net-lookups are refused (Postern does no DNS lookups for lists).
 *   domain lists: `example.com` (case-insensitive, a trailing dot ignored); `*.example.com`
 *                 (subdomains only) and `*example.com` (any name ending so); `^regex`
 *                 (caseless; anchored at the start by its `^`, at the end only if it ends in
 *                 `$`, as in Exim); `@` (the primary host name the caller gives); `*`.
 *   lookup items: `redis;<query>` or `redis:<query>` (`;` needs no escaping in a `:` list,
 *                 `:` needs none in an array or a `<;` list), and Exim's own spelling
 *                 `${lookup redis{<query>}}`. <query> is one of
 *                   SMEMBERS <key>           the set's members are list items, each matched
 *                                            like a static item (CIDRs in relay_from_ips)
 *                   SISMEMBER <key> $item    match when the tested value is a member
 *                   HGET $item <field>       match when the field is non-empty
 *                   GET $item                match when the key is non-empty
 *                 `$item` is the tested value (canonical address, or lower-case domain); it
 *                 may also be written `$domain` (domain lists), `$host` or
 *                 `$sender_host_address` (host lists), and may sit inside an argument
 *                 (`HGET domain:$domain active`). Arguments cannot contain spaces or a literal `$`.
 *                 Unlike Exim, HGET does not compare the field's value with the domain: any
 *                 non-empty value matches. Members of an SMEMBERS answer may not be negated,
 *                 `*`, regexes, `@` or lookups (such a member makes the lookup fail).
 *   A lookup that fails (no server answered, a timeout, a bad member) makes the evaluation
 *   "defer" at that item: never a match, never a no-match. Earlier items still decide first.
 *   redis_servers: `host[:port]/db/password` (`127.0.0.1//`, `127.0.0.1/10/`,
 *   `[::1]:6380/0/secret`) or `redis://[user:pw@]host[:port][/db]`, `rediss://` for TLS.
 *
 * STANDARDS: Exim host and domain list semantics (Exim specification, "Domain, host, address
 * and local part lists"; Redis lookups as in Exim's experimental-spec.txt); RFC 4291 and
 * RFC 4632 (prefixes), RFC 5952 (canonical IPv6 text, used for lookups and comparison).
 *
 * SECURITY: regex items are operator input; they are compiled once at start-up (never per
 * message), anchored at the start, refused when longer than 1024 characters or when they nest
 * quantifiers like (a+)+, and run only on values of at most 255 characters. The tested value
 * is client input: it is canonicalised first and reaches Redis only as a separate command
 * argument (ioredis argument arrays, RESP bulk strings), never by string concatenation, so a
 * client cannot inject commands; only read-only one-key commands exist. Lookup answers are
 * parsed as plain items only, and `*` in a Redis set is refused. A lookup failure is "defer", so an outage can never widen a list
 * (no open relay). Errors quote items JSON-escaped and never show Redis passwords.
 *
 * DIAGNOSTICS: no logging. Bad configuration throws HostlistConfigError
 * (POSTERN_HOSTLIST_CONFIG_INVALID) naming the item and its position; a deferred evaluation
 * returns a HostlistLookupError (POSTERN_HOSTLIST_LOOKUP_FAILED or _LOOKUP_BAD_DATA) whose cause
 * is a RedisUnavailableError (POSTERN_HOSTLIST_REDIS_UNAVAILABLE) listing each server's
 * failure. The Redis adapter reports every query to `onLookup` (command, server, outcome, ms,
 * cached, failures) and connection changes to `onServerState` (a hook that throws is ignored,
 * never a lookup failure); hostlistMetricNames and
 * hostlistLogEvents list the names services should use.
 */
export { hostList, domainList, parseList, listUsesLookups, MAX_VALUE_LENGTH, type CompiledList, type ListOptions } from "./match";
export type { ListResult, Lookup, LookupQuery, LookupReply } from "./types";
export { ListKind, LookupCommand, lookupCommands, parseItem, canonicalDomain, MAX_REGEX_LENGTH, type Item, type ItemBody, type ParseOptions } from "./items";
export { splitList, listItems, listSeparator, type ListInput, type ListItem } from "./split";
export { canonicalIp, parseCidr, type Cidr } from "./ip";
export { parseRedisServers, parseRedisServer, redisServerItems, redactServer, DEFAULT_REDIS_PORT, type RedisServer, type RedisServerOptions } from "./redis-servers";
export {
  createRedisLookup,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type RedisLookup,
  type RedisLookupOptions,
} from "./redis-lookup";
export { TtlCache, DEFAULT_CACHE_TTL_MS, DEFAULT_CACHE_MAX_ENTRIES, type TtlCacheOptions } from "./cache";
export { hostListSchema, domainListSchema, redisServersSchema, type ListSchemaOptions } from "./schema";
export { HostlistConfigError, HostlistLookupError, RedisUnavailableError, HostlistErrorCode, type ServerFailure } from "./errors";
export { hostlistMetricNames, hostlistLogEvents, LookupOutcome, type LookupEvent, type ServerStateEvent } from "./diagnostics";
