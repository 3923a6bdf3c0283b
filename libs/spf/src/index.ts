/**
 * @postern/libspf: the Sender Policy Framework as pure logic, no sockets. A
 * checker runs check_host() for the MAIL FROM or HELO identity of a client
 * address over an injected resolver (SpfDns, dns.ts) and returns one verdict:
 * the result, the explanation for fail, the Exim variables ($spf_result,
 * $spf_result_guessed, $spf_header_comment, $spf_smtp_comment,
 * $spf_received), a Received-SPF value and an Authentication-Results
 * fragment. Records are parsed into a typed structure (record.ts), then
 * evaluated (evaluate.ts); Exim's spf_guess record applies on request when no
 * record is published. createZoneDns is an in-memory resolver for tests, tools
 * and benchmarks.
 *
 * STANDARDS: RFC 7208 (SPF: all mechanisms and modifiers, macros including
 * exp= and %{p}, redirect, HELO identity, IPv4/IPv6 and IPv4-mapped
 * addresses, section 4.6.4 limits, section 9.1 Received-SPF), RFC 8601
 * (Authentication-Results), RFC 5952 (%{c} for IPv6), RFC 7505 (null MX is
 * skipped). Only TXT records are used; type SPF (99) is not queried.
 *
 * SECURITY: record text, explanation text, PTR data and the client's MAIL FROM
 * and HELO are hostile. Limits are enforced in one resolver wrapper
 * (limits.ts): 10 DNS-querying terms, 2 void lookups, 10 MX names (more is
 * permerror), 10 PTR names (the rest ignored), 150 queries per check, and an
 * optional AbortSignal deadline. Recursion through include and redirect is
 * bounded by the term limit. Macro expansions are capped at 2048 characters
 * (domains then cut to 253 octets by label), explanations at 400 printable
 * ASCII characters. Record checks are linear (no backtracking regexes). Header
 * fields are cleaned of control characters, capped and quoted.
 *
 * DIAGNOSTICS: nothing is logged. A verdict carries `problem` (why permerror
 * or temperror), a stable `code` (errors.ts: POSTERN_SPF_SYNTAX, _LIMIT,
 * _POLICY, _DNS, _INTERNAL), the matching `mechanism`, and the lookup and void
 * lookup counts. Only SpfInputError (bad client address) and SpfOptionsError
 * (bad checker options) are thrown.
 */
export { type DnsOutcome, type DnsOutcomeKind, type MxRecord, type SpfDns, type SpfQueryType } from "./dns";
export {
  SpfDnsError,
  SpfError,
  type SpfErrorCode,
  spfErrorCodes,
  type SpfEvalError,
  SpfInputError,
  SpfInternalError,
  SpfLimitError,
  type SpfLimitKind,
  spfLimitKinds,
  SpfOptionsError,
  SpfPolicyError,
  type SpfPolicyReason,
  spfPolicyReasons,
  SpfSyntaxError,
} from "./errors";
export {
  checkSpf,
  createSpfChecker,
  DEFAULT_EXPLANATION,
  DEFAULT_GUESS_RECORD,
  type EximSpfVariables,
  type SpfChecker,
  type SpfCheckerOptions,
  type SpfCheckInput,
  type SpfVerdict,
} from "./verdict";
export {
  isDeprecatedSpfResultName,
  parseSpfResultName,
  type SpfIdentity,
  spfIdentities,
  type SpfResult,
  spfResultAliases,
  spfResults,
} from "./results";
export {
  type Directive,
  type DomainSpec,
  isSpfRecord,
  type Mechanism,
  type MechanismKind,
  parseRecord,
  type Qualifier,
  qualifierResults,
  type RecordParse,
  type SpfRecord,
} from "./record";
export { expandMacros, type MacroPlace, type MacroString, type MacroToken, type MacroVars, parseMacroString } from "./macro";
export { defaultSpfLimits, LimitedDns, type LimitedOutcome, type SpfLimits } from "./limits";
export { type ClientIp, parseClientIp } from "./ip";
export { createZoneDns, type ZoneData, type ZoneDns, type ZoneEntry, type ZoneQuery } from "./testing/zone-dns";
