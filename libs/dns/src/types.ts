/** Shared types of @postern/dns: queries, outcomes and the composable handler shape. */
import type { Answer, OptAnswer, RecordType } from "dns-packet";
import type { DnsErrorCode } from "./errors";

/** Types a client may ask a recursive resolver for (meta-types and OPT excluded). */
export type QueryType = Exclude<RecordType, "OPT" | "AXFR" | "IXFR" | "TKEY" | "TSIG">;

/** One question. `name` has no trailing dot (except the root, "."). Class is always IN. */
export interface Query {
  readonly name: string;
  readonly type: QueryType;
}

/** A resource record as decoded by dns-packet (never the OPT pseudo-record). */
export type DnsRecord = Exclude<Answer, OptAnswer>;

/** The kinds of outcome, as an `as const` object for switches and metric labels. */
export const OutcomeKind = {
  Answer: "answer",
  NxDomain: "nxdomain",
  NoData: "nodata",
  ServFail: "servfail",
  Timeout: "timeout",
  Refused: "refused",
  Error: "error",
} as const;
export type OutcomeKind = (typeof OutcomeKind)[keyof typeof OutcomeKind];

/**
 * Records of the asked type at the end of the CNAME chain. `ttl` is in seconds: the minimum
 * over that RRset and the CNAMEs that led to it (the remaining time when served from cache).
 * `authenticated` is the AD bit of the response: meaningful only from a trusted resolver.
 */
export interface AnswerOutcome<R> {
  readonly kind: "answer";
  readonly records: R[];
  readonly authenticated: boolean;
  readonly ttl: number;
}
/** The name does not exist. `ttl` is the RFC 2308 negative TTL (0: no SOA, not cacheable). */
export interface NxDomainOutcome {
  readonly kind: "nxdomain";
  readonly authenticated: boolean;
  readonly ttl: number;
}
/** The name exists but has no records of the asked type. `ttl` as for nxdomain. */
export interface NoDataOutcome {
  readonly kind: "nodata";
  readonly authenticated: boolean;
  readonly ttl: number;
}
/** No server gave a final answer and the last one to respond said SERVFAIL (a validating resolver's answer to bogus data). */
export interface ServFailOutcome {
  readonly kind: "servfail";
}
/** No server sent a matching response within its timeout. */
export interface TimeoutOutcome {
  readonly kind: "timeout";
}
/** No server gave a final answer and the last one to respond said REFUSED. */
export interface RefusedOutcome {
  readonly kind: "refused";
}
/** Anything else; `code` is stable, `reason` is for people. */
export interface ErrorOutcome {
  readonly kind: "error";
  readonly code: DnsErrorCode;
  readonly reason: string;
}

/** Outcomes that carry no records; shared by every typed lookup. */
export type Failure = NxDomainOutcome | NoDataOutcome | ServFailOutcome | TimeoutOutcome | RefusedOutcome | ErrorOutcome;
/** The typed result of every query. Never thrown, always returned. */
export type Outcome<R> = AnswerOutcome<R> | Failure;

/** How a query was resolved, passed between the composable wrappers. */
export interface Resolution {
  readonly outcome: Outcome<DnsRecord>;
  /** The server ("127.0.0.1:53", "[::1]:53") whose response gave the outcome; null if none. */
  readonly server: string | null;
  readonly transport: "udp" | "tcp" | null;
  /** Served from the cache. */
  readonly cached: boolean;
  /** Joined a query already in flight for the same key. */
  readonly shared: boolean;
  /** Responses dropped because source, ID or question did not match, or did not decode. */
  readonly ignored: number;
}

/** A resolving step. Wrappers (withCache, withDedup, withRetry ...) take one and return one. */
export type Handler = (query: Query) => Promise<Resolution>;

/** A server address, parsed once. `label` is its canonical text form. */
export interface Server {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly label: string;
}

/** One attempt against one server: the outcome, how it travelled, what was ignored. */
export interface ExchangeResult {
  readonly outcome: Outcome<DnsRecord>;
  readonly transport: "udp" | "tcp";
  readonly ignored: number;
}
/** Sends one query to one server. Replace it to resolve from memory in tests. */
export type Exchange = (server: Server, query: Query) => Promise<ExchangeResult>;
