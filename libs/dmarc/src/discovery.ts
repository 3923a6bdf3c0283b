/**
 * Policy discovery and Organizational Domains, in both modes:
 *
 * - RFC 7489 (section 6.6.3): the record at the Author Domain, else at its
 *   Organizational Domain from the Public Suffix List; two or more records at
 *   a name end discovery.
 * - RFC 9989 (sections 4.10, 4.10.1, 4.10.2): the DNS Tree Walk. Starting at
 *   the domain, query _dmarc.<name>, then drop the left-most label; a name of
 *   eight or more labels is shortened straight to seven, so a walk makes at
 *   most eight queries. The walk stops at a record with `psd=y` or `psd=n`.
 *   The Organizational Domain is the `psd=n` name, or the name one label below
 *   a `psd=y` name, or else the name of the record with the fewest labels, or
 *   else the domain itself.
 */
import { DmarcInternalError } from "./errors";
import { type DmarcLookup } from "./lookup";
import { pslOrganizationalDomain } from "./psl";
import { type DmarcRecord } from "./record";

export const dmarcModes = ["rfc7489", "rfc9989"] as const;
export type DmarcMode = (typeof dmarcModes)[number];

/** A tree walk never has more than this many labels after its first query. */
export const WALK_MAX_LABELS = 7;

interface Found {
  readonly domain: string;
  readonly record: DmarcRecord;
}

export interface WalkResult {
  /** records found, longest name first */
  readonly found: readonly Found[];
  /** the error that ended the walk early, if any */
  readonly error?: Error;
  /** names queried, in order */
  readonly names: readonly string[];
}

/** RFC 9989 4.10: the DNS Tree Walk. DNS errors end the walk and are returned with what was found before. */
export async function treeWalk(domain: string, lookup: DmarcLookup): Promise<WalkResult> {
  const found: Found[] = [];
  const names: string[] = [];
  // The names are suffixes of `domain`, taken by index rather than by splitting and joining labels.
  let name = domain;
  let labels = 1;
  for (let i = domain.indexOf("."); i >= 0; i = domain.indexOf(".", i + 1)) labels++;
  for (;;) {
    names.push(name);
    let r;
    try {
      r = await lookup.record(name);
    } catch (err) {
      const error = err instanceof Error ? err : new DmarcInternalError("tree walk failed", { cause: err });
      return { found, error, names };
    }
    if (r.kind === "record") {
      found.push({ domain: name, record: r.record });
      if (r.record.psd === "y" || r.record.psd === "n") break;
    }
    if (labels === 1) break;
    const drop = labels > WALK_MAX_LABELS ? labels - WALK_MAX_LABELS : 1;
    let at = -1;
    for (let k = 0; k < drop; k++) at = name.indexOf(".", at + 1);
    name = name.slice(at + 1);
    labels -= drop;
  }
  return { found, names };
}

/** RFC 9989 4.10.2 for a completed walk of `domain`. */
export function orgDomainFromWalk(domain: string, found: readonly Found[]): string {
  for (const { domain: at, record } of found) {
    if (record.psd === "n") return at;
    if (record.psd === "y" && at !== domain) {
      const keep = at.split(".").length + 1;
      return domain.split(".").slice(-keep).join(".");
    }
  }
  const last = found[found.length - 1];
  return last === undefined ? domain : last.domain;
}

/** RFC 9989 Organizational Domain of a domain; throws when the walk failed. */
export async function walkOrgDomain(domain: string, lookup: DmarcLookup): Promise<string> {
  if (domain.startsWith("[")) return domain;
  const walk = await treeWalk(domain, lookup);
  if (walk.error !== undefined) throw walk.error;
  return orgDomainFromWalk(domain, walk.found);
}

export interface Discovery {
  /** the record that applies, if any */
  readonly record: DmarcRecord | undefined;
  /** where it was published (the DMARC Policy Domain) */
  readonly recordDomain: string | undefined;
  /** the Author Domain's Organizational Domain; undefined when a failed walk left it unknown */
  readonly orgDomain: string | undefined;
  /** a DNS error that left the Organizational Domain unknown although a record applies */
  readonly orgError?: Error;
  /** why there is no record although DMARC records exist ("multiple records") */
  readonly note?: string;
}

/** RFC 7489 6.6.3. Throws on DNS errors (temperror). */
export async function discover7489(domain: string, lookup: DmarcLookup, privateDomains: boolean): Promise<Discovery> {
  const orgDomain = pslOrganizationalDomain(domain, privateDomains);
  if (domain.startsWith("[")) return { record: undefined, recordDomain: undefined, orgDomain };
  const own = await lookup.record(domain);
  if (own.kind === "record") return { record: own.record, recordDomain: domain, orgDomain };
  if (own.kind === "multiple") return { record: undefined, recordDomain: undefined, orgDomain, note: `multiple DMARC records at ${domain}` };
  if (orgDomain === domain) return { record: undefined, recordDomain: undefined, orgDomain };
  const org = await lookup.record(orgDomain);
  if (org.kind === "record") return { record: org.record, recordDomain: orgDomain, orgDomain };
  return {
    record: undefined,
    recordDomain: undefined,
    orgDomain,
    ...(org.kind === "multiple" ? { note: `multiple DMARC records at ${orgDomain}` } : {}),
  };
}

/**
 * RFC 9989 4.10.1. The Author Domain's own record applies whatever is above
 * it; otherwise the Organizational Domain's record, and failing that the
 * record of a PSD (`psd=y`) above it. Throws on DNS errors that leave the
 * policy unknown.
 */
export async function discover9989(domain: string, lookup: DmarcLookup): Promise<Discovery> {
  if (domain.startsWith("[")) return { record: undefined, recordDomain: undefined, orgDomain: domain };
  const walk = await treeWalk(domain, lookup);
  const first = walk.found[0];
  if (first !== undefined && first.domain === domain) {
    if (walk.error !== undefined) return { record: first.record, recordDomain: domain, orgDomain: undefined, orgError: walk.error };
    return { record: first.record, recordDomain: domain, orgDomain: orgDomainFromWalk(domain, walk.found) };
  }
  if (walk.error !== undefined) throw walk.error;
  const orgDomain = orgDomainFromWalk(domain, walk.found);
  const last = walk.found[walk.found.length - 1];
  const entry = walk.found.find((f) => f.domain === orgDomain) ?? (last?.record.psd === "y" ? last : undefined);
  return { record: entry?.record, recordDomain: entry?.domain, orgDomain };
}
