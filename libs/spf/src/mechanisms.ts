/**
 * The DNS side of the a, mx, ptr and exists mechanisms (RFC 7208 sections
 * 5.3-5.7) and the validated-name procedure shared by ptr and `%{p}`. Limits
 * are the LimitedDns wrapper's business; these functions only say which query
 * is a term's own (void-counted) query.
 */
import { SpfDnsError, type SpfEvalError } from "./errors";
import { type ClientIp, parseAddress, prefixMatch, reverseName } from "./ip";
import { type LimitedDns, type LimitedOutcome } from "./limits";
import { isQueryable, isWithin, stripDot } from "./names";
import { type SpfQueryType } from "./dns";

export type Match = { readonly kind: "match" } | { readonly kind: "nomatch" } | { readonly kind: "error"; readonly error: SpfEvalError };

export const MATCH: Match = { kind: "match" };
export const NOMATCH: Match = { kind: "nomatch" };

/** QueryOptions, made once rather than per query. */
const COUNT_VOID = { countVoid: true } as const;
const NO_VOID = { countVoid: false } as const;

/** Map a non-answer outcome: NXDOMAIN and NODATA do not match; failures are errors. */
function failure(outcome: Exclude<LimitedOutcome<unknown>, { kind: "answer" }>, name: string, type: SpfQueryType): Match {
  switch (outcome.kind) {
    case "nxdomain":
    case "nodata":
      return NOMATCH;
    case "limit":
      return { kind: "error", error: outcome.error };
    default:
      return { kind: "error", error: new SpfDnsError(name, type, outcome.kind) };
  }
}

function addressMatches(records: readonly string[], ip: ClientIp, cidr: number): boolean {
  for (const text of records) {
    const bytes = parseAddress(text, ip.family);
    if (bytes && prefixMatch(ip.bytes, bytes, cidr)) return true;
  }
  return false;
}

/** `a` (and each MX host): does any A/AAAA record of `name` cover the client? */
export async function matchAddresses(dns: LimitedDns, ip: ClientIp, name: string, cidr: number, countVoid: boolean): Promise<Match> {
  const outcome = await dns.address(name, ip.family, countVoid ? COUNT_VOID : NO_VOID);
  if (outcome.kind !== "answer") return failure(outcome, name, ip.family === 4 ? "A" : "AAAA");
  return addressMatches(outcome.records, ip, cidr) ? MATCH : NOMATCH;
}

/** `mx`: the addresses of each exchange, in answer order; a null MX is skipped. */
export async function matchMx(dns: LimitedDns, ip: ClientIp, name: string, cidr: number): Promise<Match> {
  const outcome = await dns.mx(name, COUNT_VOID);
  if (outcome.kind !== "answer") return failure(outcome, name, "MX");
  for (const record of outcome.records) {
    const exchange = stripDot(record.exchange);
    if (!isQueryable(exchange)) continue;
    const result = await matchAddresses(dns, ip, exchange, cidr, false);
    if (result.kind !== "nomatch") return result;
  }
  return NOMATCH;
}

/** `exists`: any A record at all (always type A, whatever the client family). */
export async function matchExists(dns: LimitedDns, name: string): Promise<Match> {
  const outcome = await dns.address(name, 4, COUNT_VOID);
  return outcome.kind === "answer" ? MATCH : failure(outcome, name, "A");
}

/**
 * Section 5.5: PTR names of the client whose A/AAAA records include it. Names
 * failing `wanted` are not looked up. DNS errors drop a name (or, on the PTR
 * query, give an empty list); only a limit error is returned.
 */
export async function validatedNames(
  dns: LimitedDns,
  ip: ClientIp,
  wanted: ((name: string) => boolean) | undefined,
  countVoid: boolean,
): Promise<string[] | SpfEvalError> {
  const outcome = await dns.ptr(reverseName(ip), countVoid ? COUNT_VOID : NO_VOID);
  if (outcome.kind === "limit") return outcome.error;
  if (outcome.kind !== "answer") return [];
  const names: string[] = [];
  for (const record of outcome.records) {
    const name = stripDot(record);
    if (!isQueryable(name) || (wanted && !wanted(name))) continue;
    const addresses = await dns.address(name, ip.family);
    if (addresses.kind === "limit") return addresses.error;
    if (addresses.kind === "answer" && addressMatches(addresses.records, ip, ip.family === 4 ? 32 : 128)) names.push(name);
  }
  return names;
}

/** `ptr`: some validated name equals the target or is under it. */
export async function matchPtr(dns: LimitedDns, ip: ClientIp, target: string): Promise<Match> {
  const names = await validatedNames(dns, ip, (name) => isWithin(name, target), true);
  if (!Array.isArray(names)) return { kind: "error", error: names };
  return names.length > 0 ? MATCH : NOMATCH;
}

/** The `%{p}` value for `domain`: the domain itself, else a subdomain of it, else any validated name, else "unknown". */
export function chooseValidatedName(names: readonly string[], domain: string): string {
  const lower = stripDot(domain).toLowerCase();
  return names.find((n) => n.toLowerCase() === lower) ?? names.find((n) => isWithin(n, domain)) ?? names[0] ?? "unknown";
}
