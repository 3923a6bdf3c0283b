/**
 * @postern/libdmarc: DMARC as pure logic over an injected resolver (DmarcDns).
 * evaluateDmarc takes the message's From field(s) and the DKIM and SPF
 * results, discovers the policy (RFC 7489 with the Public Suffix List, or RFC
 * 9989 with the DNS Tree Walk, chosen by `mode`), checks identifier alignment
 * (relaxed/strict, SPF and DKIM), applies p/sp/np with pct (7489) or t
 * (9989), and returns one verdict carrying Exim's variables ($dmarc_status,
 * $dmarc_status_text, $dmarc_used_domain, $dmarc_domain_policy,
 * $dmarc_ar_header). Reports are pure functions too: RFC 9990 aggregate XML
 * and report e-mail, RFC 6591 / RFC 9991 failure reports, and verification of
 * external report destinations. createDmarcZone is an in-memory resolver.
 *
 * STANDARDS: RFC 7489 (DMARC), RFC 9989 (DMARC: tree walk, np, psd, t),
 * RFC 9990 (aggregate reporting), RFC 9991 / RFC 6591 / RFC 5965 (failure
 * reports, ARF), RFC 8601 (Authentication-Results), RFC 6376 3.2 (tag-list),
 * RFC 8020 (NXDOMAIN means nothing below exists).
 *
 * SECURITY: the From field, record text, DKIM/SPF identifiers and report
 * headers are hostile. Records are capped and parsed linearly; a tree walk
 * makes at most 8 queries, relaxed alignment at most 10 walks, an evaluation
 * at most 64 queries (all in lookup.ts), and an AbortSignal ends it early.
 * Header and XML output is escaped and capped.
 *
 * DIAGNOSTICS: nothing is logged. A verdict carries `problem` and a stable
 * `code` (errors.ts: POSTERN_DMARC_DNS, _LIMIT, _INTERNAL) when the result is
 * temperror, and the number of queries made. Only DmarcOptionsError is thrown.
 */
export { type DmarcDns, type DmarcQueryType, type DnsOutcome } from "./dns";
export {
  DmarcDnsError,
  DmarcError,
  type DmarcErrorCode,
  dmarcErrorCodes,
  DmarcInternalError,
  DmarcLimitError,
  type DmarcLimitKind,
  dmarcLimitKinds,
  DmarcOptionsError,
} from "./errors";
export {
  type AlignmentMode,
  type DmarcRecord,
  isDmarcRecord,
  parseRecord,
  parseReportUris,
  type Policy,
  policies,
  policyTags,
  type PolicyTags,
  type RecordParse,
  type ReportUri,
  selectRecord,
} from "./record";
export { authorDomains, type AuthorResult, fromFieldValues, fromValues, type HeaderField, normalizeDomain, parseHeaderFields } from "./author";
export { pslOrganizationalDomain } from "./psl";
export { type DmarcMode, dmarcModes, orgDomainFromWalk, treeWalk, walkOrgDomain, WALK_MAX_LABELS } from "./discovery";
export { DmarcLookup, defaultLookupLimits, type LookupLimits } from "./lookup";
export {
  type DkimResultInput,
  type DmarcInput,
  type DmarcOptions,
  type DmarcResult,
  type DmarcVerdict,
  evaluateDmarc,
  type EximDmarcStatus,
  eximDmarcStatuses,
  type PolicyOverride,
  type SpfResultInput,
} from "./verdict";
export { arValue, formatArHeader, formatDmarcResinfo } from "./headers";
export {
  type AggregateReport,
  type AggregateRow,
  aggregateFilename,
  aggregateRow,
  buildAggregateMessage,
  buildAggregateXml,
  DMARC_XML_NAMESPACE,
  mergeRows,
  type OverrideType,
  policyPublished,
  type PolicyPublished,
  type ReportDisposition,
  type ReportMessageOptions,
} from "./aggregate";
export { buildFailureReport, type FailureReportFacts, type FailureReportOptions, MAX_REPORTED_HEADERS, wantsFailureReport } from "./failure";
export { verifyReportUris } from "./report-uris";
export { createDmarcZone, type DmarcZone, type ZoneDmarcDns, type ZoneName } from "./testing/zone";
export { aggregateSchemaPath, validateAggregateXml } from "./testing/xsd";
