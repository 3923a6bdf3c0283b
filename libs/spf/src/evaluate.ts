/**
 * check_host() (RFC 7208 sections 4-6) over parsed records. Expected outcomes,
 * including permerror and temperror causes, are returned as values; the only
 * exceptions that can escape come from a resolver that throws, and
 * verdict.ts turns those into temperror.
 */
import { SpfDnsError, type SpfEvalError, SpfPolicyError, spfPolicyReasons } from "./errors";
import { type ClientIp, prefixMatch } from "./ip";
import { type LimitedDns } from "./limits";
import { expandMacros, type MacroVars } from "./macro";
import { chooseValidatedName, type Match, MATCH, matchAddresses, matchExists, matchMx, matchPtr, NOMATCH, validatedNames } from "./mechanisms";
import { isIdentityDomain, isQueryable, stripDot, truncateName } from "./names";
import { type DomainSpec, isSpfRecord, type Mechanism, type QualifierResult, qualifierResults, type RecordParse, type SpfRecord } from "./record";

type DnsMechanism = Exclude<Mechanism, { readonly kind: "all" | "ip4" | "ip6" }>;

/** QueryOptions, made once: a query's own options are not allocated per query. */
const COUNT_VOID = { countVoid: true } as const;
const NO_VOID = { countVoid: false } as const;

/** Longest macro expansion kept (a domain is then cut to 253 octets by label). */
export const MAX_EXPANSION = 2048;

export interface EvalContext {
  readonly dns: LimitedDns;
  readonly ip: ClientIp;
  /** Every macro variable except the per-record `d` and the lazily computed `p`. */
  readonly vars: Omit<MacroVars, "d" | "p">;
  readonly parse: (text: string) => RecordParse;
  /** Validated PTR names of the client, looked up once per check for `%{p}`. */
  validated?: Promise<readonly string[]>;
}

/** Where a fail's explanation comes from: the exp= of the record that decided. */
export interface ExpSource {
  readonly spec: DomainSpec;
  readonly domain: string;
}

export type HostOutcome =
  | {
      readonly kind: "result";
      readonly result: QualifierResult;
      readonly domain: string;
      readonly mechanism: string | undefined;
      readonly exp: ExpSource | undefined;
    }
  | { readonly kind: "none"; readonly domain: string; readonly malformed: boolean }
  | { readonly kind: "error"; readonly domain: string; readonly error: SpfEvalError; readonly mechanism: string | undefined };

/** Macro variables for a record at `domain` with `%{p}` = `p` (built field by field: no spread per expansion). */
function varsFor(ctx: EvalContext, domain: string, p: string): MacroVars {
  const v = ctx.vars;
  return { s: v.s, l: v.l, o: v.o, d: domain, i: v.i, p, h: v.h, c: v.c, r: v.r, t: v.t, v: v.v };
}

/** Macro variables for a record at `domain`, resolving `%{p}` only when needed. */
export async function macroVars(ctx: EvalContext, domain: string, needP: boolean): Promise<MacroVars> {
  if (!needP) return varsFor(ctx, domain, "unknown");
  ctx.validated ??= validatedNames(ctx.dns, ctx.ip, undefined, false).then((r) => (Array.isArray(r) ? r : []));
  return varsFor(ctx, domain, chooseValidatedName(await ctx.validated, domain));
}

/** expandTarget for a domain-spec without `%{p}`: no DNS, so no promise and no microtask. */
export function expandTargetNow(ctx: EvalContext, spec: DomainSpec, domain: string): string {
  if (spec.literal !== undefined) return truncateName(spec.literal);
  return truncateName(stripDot(expandMacros(spec.tokens, varsFor(ctx, domain, "unknown"), MAX_EXPANSION)));
}

/** Expand a domain-spec into a target name: trailing dot dropped, cut to 253 octets. */
export async function expandTarget(ctx: EvalContext, spec: DomainSpec, domain: string): Promise<string> {
  if (!spec.usesP) return expandTargetNow(ctx, spec, domain);
  const vars = await macroVars(ctx, domain, true);
  return truncateName(stripDot(expandMacros(spec.tokens, vars, MAX_EXPANSION)));
}

/**
 * check_host() for `domain` (sections 4.3-4.5: the one v=spf1 TXT record, then its
 * evaluation). `nested` is true for include and redirect targets, whose record query is the
 * term's own query (void-counted).
 */
export async function checkHost(ctx: EvalContext, domain: string, nested = false): Promise<HostOutcome> {
  const name = stripDot(domain);
  if (!isIdentityDomain(name)) return { kind: "none", domain: name, malformed: true };
  const outcome = await ctx.dns.txt(name, nested ? COUNT_VOID : NO_VOID);
  switch (outcome.kind) {
    case "nxdomain":
    case "nodata":
      return { kind: "none", domain: name, malformed: false };
    case "limit":
      return { kind: "error", domain: name, error: outcome.error, mechanism: undefined };
    case "servfail":
    case "timeout":
      return { kind: "error", domain: name, error: new SpfDnsError(name, "TXT", outcome.kind), mechanism: undefined };
  }
  let found: string | undefined;
  for (const strings of outcome.records) {
    const text = strings.length === 1 ? (strings[0] ?? "") : strings.join("");
    if (!isSpfRecord(text)) continue;
    if (found !== undefined) return { kind: "error", domain: name, error: new SpfPolicyError(spfPolicyReasons.multipleRecords, name), mechanism: undefined };
    found = text;
  }
  if (found === undefined) return { kind: "none", domain: name, malformed: false };
  const parsed = ctx.parse(found);
  if (!parsed.ok) return { kind: "error", domain: name, error: parsed.error, mechanism: undefined };
  return evaluateRecord(ctx, parsed.record, name);
}

/** The target of a/mx/ptr/exists/include: its domain-spec expanded, or the current domain. */
function targetOf(ctx: EvalContext, spec: DomainSpec | undefined, domain: string): string | Promise<string> {
  if (spec === undefined) return domain;
  return spec.usesP ? expandTarget(ctx, spec, domain) : expandTargetNow(ctx, spec, domain);
}

/** include: the included record's result (section 5.2). */
function includeMatch(sub: HostOutcome): Match {
  switch (sub.kind) {
    case "result":
      return sub.result === "pass" ? MATCH : NOMATCH;
    case "none":
      return { kind: "error", error: new SpfPolicyError(spfPolicyReasons.includeNone, sub.domain) };
    case "error":
      return { kind: "error", error: sub.error };
  }
}

/** The mechanisms that query DNS (include, a, mx, ptr, exists); the others are matched in evaluateRecord. */
async function matchDnsMechanism(ctx: EvalContext, mechanism: DnsMechanism, domain: string): Promise<Match> {
  const { ip } = ctx;
  const pending = targetOf(ctx, mechanism.domain, domain);
  // only a %{p} target needs waiting for
  const target = typeof pending === "string" ? pending : await pending;
  switch (mechanism.kind) {
    case "include":
      return includeMatch(await checkHost(ctx, target, true));
    case "ptr":
      return await matchPtr(ctx.dns, ip, target);
    default: {
      // A target that no query can be composed from (empty or long label) does not match (section 4.8).
      if (!isQueryable(target)) return NOMATCH;
      if (mechanism.kind === "exists") return await matchExists(ctx.dns, target);
      const cidr = ip.family === 4 ? mechanism.cidr4 : mechanism.cidr6;
      return await (mechanism.kind === "a" ? matchAddresses(ctx.dns, ip, target, cidr, true) : matchMx(ctx.dns, ip, target, cidr));
    }
  }
}

/** Sections 4.6-4.7 and 6.1: directives left to right, then redirect=, then neutral. */
export async function evaluateRecord(ctx: EvalContext, record: SpfRecord, domain: string): Promise<HostOutcome> {
  const { ip } = ctx;
  for (const directive of record.directives) {
    const { mechanism } = directive;
    let match: Match;
    // all, ip4 and ip6 are decided here without a promise: a provider's record lists many netblocks
    if (mechanism.kind === "all") {
      match = MATCH;
    } else if (mechanism.kind === "ip4" || mechanism.kind === "ip6") {
      const family = mechanism.kind === "ip4" ? 4 : 6;
      match = ip.family === family && prefixMatch(ip.bytes, mechanism.network, mechanism.cidr) ? MATCH : NOMATCH;
    } else {
      // every other mechanism is a DNS-querying term (isDnsTerm)
      const error = ctx.dns.chargeTerm(directive.text);
      if (error) return { kind: "error", domain, error, mechanism: directive.text };
      // (TypeScript does not narrow the union away from the { kind: "ip4" | "ip6" } member)
      match = await matchDnsMechanism(ctx, mechanism as DnsMechanism, domain);
    }
    if (match.kind === "error") return { kind: "error", domain, error: match.error, mechanism: directive.text };
    if (match.kind === "match") {
      const exp = record.exp ? { spec: record.exp, domain } : undefined;
      return { kind: "result", result: qualifierResults[directive.qualifier], domain, mechanism: directive.text, exp };
    }
  }
  if (record.redirect) {
    const error = ctx.dns.chargeTerm("redirect");
    if (error) return { kind: "error", domain, error, mechanism: `redirect=${record.redirect.text}` };
    const target = record.redirect.usesP ? await expandTarget(ctx, record.redirect, domain) : expandTargetNow(ctx, record.redirect, domain);
    const sub = await checkHost(ctx, target, true);
    if (sub.kind !== "none") return sub;
    return { kind: "error", domain, error: new SpfPolicyError(spfPolicyReasons.redirectNone, sub.domain), mechanism: `redirect=${record.redirect.text}` };
  }
  return { kind: "result", result: "neutral", domain, mechanism: undefined, exp: undefined };
}
