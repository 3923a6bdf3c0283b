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
import { type DomainSpec, isDnsTerm, isSpfRecord, type Mechanism, type QualifierResult, qualifierResults, type RecordParse, type SpfRecord } from "./record";

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

/** Macro variables for a record at `domain`, resolving `%{p}` only when needed. */
export async function macroVars(ctx: EvalContext, domain: string, needP: boolean): Promise<MacroVars> {
  if (!needP) return { ...ctx.vars, d: domain, p: "unknown" };
  ctx.validated ??= validatedNames(ctx.dns, ctx.ip, undefined, false).then((r) => (Array.isArray(r) ? r : []));
  return { ...ctx.vars, d: domain, p: chooseValidatedName(await ctx.validated, domain) };
}

/** Expand a domain-spec into a target name: trailing dot dropped, cut to 253 octets. */
export async function expandTarget(ctx: EvalContext, spec: DomainSpec, domain: string): Promise<string> {
  if (spec.literal !== undefined) return truncateName(spec.literal);
  const vars = await macroVars(ctx, domain, spec.usesP);
  return truncateName(stripDot(expandMacros(spec.tokens, vars, MAX_EXPANSION)));
}

type Fetched = { readonly kind: "record"; readonly record: SpfRecord } | { readonly kind: "none" } | { readonly kind: "error"; readonly error: SpfEvalError };

/** Sections 4.4 and 4.5: the one v=spf1 TXT record of `domain`. */
async function fetchRecord(ctx: EvalContext, domain: string, countVoid: boolean): Promise<Fetched> {
  const outcome = await ctx.dns.txt(domain, { countVoid });
  switch (outcome.kind) {
    case "nxdomain":
    case "nodata":
      return { kind: "none" };
    case "limit":
      return { kind: "error", error: outcome.error };
    case "servfail":
    case "timeout":
      return { kind: "error", error: new SpfDnsError(domain, "TXT", outcome.kind) };
  }
  let found: string | undefined;
  for (const strings of outcome.records) {
    const text = strings.join("");
    if (!isSpfRecord(text)) continue;
    if (found !== undefined) return { kind: "error", error: new SpfPolicyError(spfPolicyReasons.multipleRecords, domain) };
    found = text;
  }
  if (found === undefined) return { kind: "none" };
  const parsed = ctx.parse(found);
  return parsed.ok ? { kind: "record", record: parsed.record } : { kind: "error", error: parsed.error };
}

/**
 * check_host() for `domain`. `nested` is true for include and redirect targets,
 * whose record query is the term's own query (void-counted).
 */
export async function checkHost(ctx: EvalContext, domain: string, nested = false): Promise<HostOutcome> {
  const name = stripDot(domain);
  if (!isIdentityDomain(name)) return { kind: "none", domain: name, malformed: true };
  const fetched = await fetchRecord(ctx, name, nested);
  if (fetched.kind === "none") return { kind: "none", domain: name, malformed: false };
  if (fetched.kind === "error") return { kind: "error", domain: name, error: fetched.error, mechanism: undefined };
  return evaluateRecord(ctx, fetched.record, name);
}

async function matchInclude(ctx: EvalContext, target: string): Promise<Match> {
  const sub = await checkHost(ctx, target, true);
  switch (sub.kind) {
    case "result":
      return sub.result === "pass" ? MATCH : NOMATCH;
    case "none":
      return { kind: "error", error: new SpfPolicyError(spfPolicyReasons.includeNone, sub.domain) };
    case "error":
      return { kind: "error", error: sub.error };
  }
}

async function matchMechanism(ctx: EvalContext, mechanism: Mechanism, domain: string): Promise<Match> {
  const { ip } = ctx;
  switch (mechanism.kind) {
    case "all":
      return MATCH;
    case "ip4":
    case "ip6": {
      const family = mechanism.kind === "ip4" ? 4 : 6;
      return ip.family === family && prefixMatch(ip.bytes, mechanism.network, mechanism.cidr) ? MATCH : NOMATCH;
    }
    case "include":
      return matchInclude(ctx, await expandTarget(ctx, mechanism.domain, domain));
    case "ptr": {
      const target = mechanism.domain ? await expandTarget(ctx, mechanism.domain, domain) : domain;
      return matchPtr(ctx.dns, ip, target);
    }
    default: {
      const target = mechanism.domain ? await expandTarget(ctx, mechanism.domain, domain) : domain;
      // A target that no query can be composed from (empty or long label) does not match (section 4.8).
      if (!isQueryable(target)) return NOMATCH;
      if (mechanism.kind === "exists") return matchExists(ctx.dns, target);
      const cidr = ip.family === 4 ? mechanism.cidr4 : mechanism.cidr6;
      return mechanism.kind === "a" ? matchAddresses(ctx.dns, ip, target, cidr, true) : matchMx(ctx.dns, ip, target, cidr);
    }
  }
}

/** Sections 4.6-4.7 and 6.1: directives left to right, then redirect=, then neutral. */
export async function evaluateRecord(ctx: EvalContext, record: SpfRecord, domain: string): Promise<HostOutcome> {
  for (const directive of record.directives) {
    const { mechanism } = directive;
    if (isDnsTerm(mechanism.kind)) {
      const error = ctx.dns.chargeTerm(directive.text);
      if (error) return { kind: "error", domain, error, mechanism: directive.text };
    }
    const match = await matchMechanism(ctx, mechanism, domain);
    if (match.kind === "error") return { kind: "error", domain, error: match.error, mechanism: directive.text };
    if (match.kind === "match") {
      const exp = record.exp ? { spec: record.exp, domain } : undefined;
      return { kind: "result", result: qualifierResults[directive.qualifier], domain, mechanism: directive.text, exp };
    }
  }
  if (record.redirect) {
    const error = ctx.dns.chargeTerm("redirect");
    if (error) return { kind: "error", domain, error, mechanism: `redirect=${record.redirect.text}` };
    const target = await expandTarget(ctx, record.redirect, domain);
    const sub = await checkHost(ctx, target, true);
    if (sub.kind !== "none") return sub;
    return { kind: "error", domain, error: new SpfPolicyError(spfPolicyReasons.redirectNone, sub.domain), mechanism: `redirect=${record.redirect.text}` };
  }
  return { kind: "result", result: "neutral", domain, mechanism: undefined, exp: undefined };
}
