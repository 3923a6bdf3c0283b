/**
 * Turns a matched response into an outcome (RFC 1035 4.1.1 rcodes, RFC 2308 negative
 * answers, RFC 4035 3.2.3 AD bit). Pure: no I/O, no clock.
 */
import type { OptAnswer, SoaAnswer } from "dns-packet";
import { DnsErrorCode } from "./errors";
import type { Message } from "./message";
import { canonicalName, sameName } from "./names";
import type { DnsRecord, Outcome, Query } from "./types";

/** Default bound on CNAME hops followed inside one answer. */
export const DEFAULT_MAX_CNAME_CHAIN = 8;

function isRecord(r: { type: string }): r is DnsRecord {
  return r.type !== "OPT";
}

/** Records of class IN only: other classes in an IN answer are junk. */
function inRecords(list: readonly { type: string; class?: string }[] | undefined): DnsRecord[] {
  return (list ?? []).filter(isRecord).filter((r) => (r.class ?? "IN") === "IN");
}

/**
 * Negative-caching TTL of a NXDOMAIN/NODATA response (RFC 2308 5): the smaller of the SOA
 * record's TTL and its MINIMUM field. 0 without a SOA in the authority section.
 */
export function negativeTtl(msg: Message): number {
  const soa = inRecords(msg.authorities).find((r): r is SoaAnswer => r.type === "SOA");
  if (soa === undefined) return 0;
  return Math.min(ttlOf(soa), soa.data.minimum ?? 0);
}

/** A referral (NS in authority, no SOA, not authoritative): the server does not recurse. */
function isReferral(msg: Message): boolean {
  const auth = inRecords(msg.authorities);
  return !msg.flag_aa && auth.some((r) => r.type === "NS") && !auth.some((r) => r.type === "SOA");
}

/** A record's TTL; values with the top bit set count as 0 (RFC 2181 8). */
function ttlOf(r: { ttl?: number | undefined }): number {
  const t = r.ttl ?? 0;
  return t > 0x7fffffff ? 0 : t;
}

function error(code: DnsErrorCode, reason: string): Outcome<DnsRecord> {
  return { kind: "error", code, reason };
}

/**
 * Classifies a response already matched to `query`. NOERROR answers follow the CNAME chain
 * inside the answer section (at most `maxCnameChain` hops, loops rejected) and return the
 * records of the asked type owned by the last name; records owned by other names are
 * ignored. The TTL is the minimum over that RRset and the CNAMEs on the way.
 */
export function classify(query: Query, msg: Message, maxCnameChain: number = DEFAULT_MAX_CNAME_CHAIN): Outcome<DnsRecord> {
  const authenticated = msg.flag_ad;
  const opt = (msg.additionals ?? []).find((r): r is OptAnswer => r.type === "OPT");
  if (opt !== undefined && opt.extendedRcode !== 0) {
    return error(DnsErrorCode.BadResponse, `extended rcode ${opt.extendedRcode * 16 + ((msg.flags ?? 0) & 0xf)}`);
  }
  switch (msg.rcode) {
    case "NOERROR":
      break;
    case "NXDOMAIN":
      return { kind: "nxdomain", authenticated, ttl: negativeTtl(msg) };
    case "SERVFAIL":
      return { kind: "servfail" };
    case "REFUSED":
      return { kind: "refused" };
    default:
      return error(DnsErrorCode.BadResponse, `rcode ${msg.rcode ?? "missing"}`);
  }
  const answers = inRecords(msg.answers);
  let owner = query.name;
  let ttl = Number.POSITIVE_INFINITY;
  const seen = new Set([canonicalName(owner)]);
  for (let hops = 0; ; hops++) {
    const rrset = answers.filter((r) => r.type === query.type && sameName(r.name, owner));
    if (rrset.length > 0) {
      for (const r of rrset) ttl = Math.min(ttl, ttlOf(r));
      return { kind: "answer", records: rrset, authenticated, ttl };
    }
    const cname = answers.find((r) => r.type === "CNAME" && sameName(r.name, owner));
    if (cname === undefined || cname.type !== "CNAME") break;
    if (hops >= maxCnameChain) return error(DnsErrorCode.CnameChain, `CNAME chain from ${query.name} longer than ${maxCnameChain}`);
    owner = cname.data;
    if (seen.has(canonicalName(owner))) return error(DnsErrorCode.CnameChain, `CNAME loop at ${owner}`);
    seen.add(canonicalName(owner));
    ttl = Math.min(ttl, ttlOf(cname));
  }
  if (isReferral(msg)) return error(DnsErrorCode.BadResponse, "referral: the server does not offer recursion");
  return { kind: "nodata", authenticated, ttl: Math.min(ttl, negativeTtl(msg)) };
}
