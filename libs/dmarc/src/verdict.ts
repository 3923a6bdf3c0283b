/**
 * One DMARC evaluation: Author Domain, policy discovery (RFC 7489 or RFC 9989
 * by option), SPF and DKIM identifier alignment, the policy to apply (p, sp,
 * np; pct sampling under RFC 7489, t=y under RFC 9989) and the Exim variables.
 * evaluateDmarc never throws: every error becomes a verdict in toErrorVerdict
 * (the one place failures are mapped), DNS and limit errors to temperror.
 */
import { authorDomains, fromFieldValues } from "./author";
import { type DmarcMode, discover7489, discover9989, type Discovery, walkOrgDomain } from "./discovery";
import { type DmarcDns } from "./dns";
import { type DmarcErrorCode, dmarcErrorCodes, DmarcError, DmarcInternalError, DmarcLimitError, dmarcLimitKinds, DmarcOptionsError } from "./errors";
import { formatArHeader } from "./headers";
import { DmarcLookup, defaultLookupLimits, type LookupLimits } from "./lookup";
import { pslOrganizationalDomain } from "./psl";
import { type DmarcRecord, type Policy, policyTags, type PolicyTags } from "./record";

/** Exim's $dmarc_status values. */
export const eximDmarcStatuses = ["accept", "none", "off", "nofrom", "quarantine", "reject", "temperror"] as const;
export type EximDmarcStatus = (typeof eximDmarcStatuses)[number];

/** The dmarc= result of RFC 8601 2.7.? / RFC 9989 (permerror is not produced: bad records are "no policy"). */
export type DmarcResult = "pass" | "fail" | "none" | "temperror";

export interface DkimResultInput {
  /** d= */
  readonly domain: string;
  /** s= */
  readonly selector?: string;
  /** RFC 8601 result: pass, fail, neutral, temperror, permerror, policy, none */
  readonly result: string;
  /** first characters of b=, for header.b in Authentication-Results */
  readonly signature?: string;
  readonly reason?: string;
}

export interface SpfResultInput {
  /** RFC 7208 result: pass, fail, softfail, neutral, none, temperror, permerror */
  readonly result: string;
  /** The domain SPF checked: the MAIL FROM domain, or the HELO name when MAIL FROM was empty. */
  readonly domain: string;
  readonly scope?: "mfrom" | "helo";
}

export interface DmarcInput {
  /** The message, or at least its header section; its From fields give the Author Domain. */
  readonly message?: string | Uint8Array;
  /** From field values, when the caller parsed the headers already (takes precedence). */
  readonly from?: readonly string[];
  readonly dkim: readonly DkimResultInput[];
  readonly spf?: SpfResultInput;
}

export interface DmarcOptions {
  readonly dns: DmarcDns;
  readonly mode: DmarcMode;
  /** authserv-id of Authentication-Results (our host name) */
  readonly authservId: string;
  /** RFC 7489 mode: count the PSL's private section (default true) */
  readonly pslPrivateDomains?: boolean;
  /** RFC 7489 pct sampling; Math.random by default */
  readonly random?: () => number;
  readonly limits?: Partial<LookupLimits>;
  /** aborted: remaining queries fail with a deadline error (temperror) */
  readonly signal?: AbortSignal;
}

export type PolicyOverride = "sampled_out" | "policy_test_mode";

export interface DmarcVerdict {
  readonly mode: DmarcMode;
  readonly result: DmarcResult;
  /** $dmarc_status */
  readonly status: EximDmarcStatus;
  /** $dmarc_status_text */
  readonly statusText: string;
  /** $dmarc_used_domain: where the policy record was found (the Author Domain when none was) */
  readonly usedDomain: string;
  /** $dmarc_domain_policy: the policy that applies to the Author Domain (p, sp or np), blank on any error or without a record */
  readonly domainPolicy: "" | Policy;
  /** $dmarc_ar_header: a complete Authentication-Results header (spf, dkim, dmarc), folded with CRLF TAB */
  readonly arHeader: string;
  /** the dmarc= resinfo alone, e.g. "dmarc=fail (p=reject dis=reject) header.from=example.com" */
  readonly arDmarc: string;
  /** What to do: the policy after pct / t; "none" for a pass. */
  readonly disposition: Policy;
  readonly override?: PolicyOverride;
  readonly authorDomain?: string;
  readonly authorDomains: readonly string[];
  readonly orgDomain?: string;
  /** the DMARC Policy Domain (where the applied record was published) */
  readonly policyDomain?: string;
  readonly record?: DmarcRecord;
  readonly tags?: PolicyTags;
  /** the policy for the Author Domain before pct / t */
  readonly policy?: Policy;
  readonly alignment: { readonly spf: boolean; readonly dkim: boolean; readonly spfDomain?: string; readonly dkimDomain?: string };
  readonly dkim: readonly DkimResultInput[];
  readonly spf?: SpfResultInput;
  /** why the result is temperror, or why there is no policy */
  readonly problem?: string;
  readonly code?: DmarcErrorCode;
  readonly queries: number;
}

const STATUS_TEXT: Record<EximDmarcStatus, string> = {
  accept: "Accept",
  none: "None, Accept",
  off: "DMARC checking disabled",
  nofrom: "No From: domain found",
  quarantine: "Quarantine",
  reject: "Reject",
  temperror: "Temporary error in DMARC processing",
};

const WEAKER: Record<Policy, Policy> = { reject: "quarantine", quarantine: "none", none: "none" };
const STRENGTH: Record<Policy, number> = { none: 0, quarantine: 1, reject: 2 };

function sameTld(a: string, b: string): boolean {
  return a.split(".").pop() === b.split(".").pop();
}

interface Partial_ {
  mode: DmarcMode;
  authservId: string;
  dkim: readonly DkimResultInput[];
  spf: SpfResultInput | undefined;
  authorDomains: readonly string[];
  queries: () => number;
}

/** What an outcome sets; finish adds the rest. */
type VerdictFields = Omit<DmarcVerdict, "mode" | "arHeader" | "arDmarc" | "statusText" | "dkim" | "spf" | "authorDomains" | "queries"> & { statusText?: string };
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Completes a verdict in place: `fields` is always a fresh object literal of
 * the caller's. Spreading verdict-sized objects (into a copy, or a literal with
 * more properties after the spread) was the largest cost of an evaluation, so
 * optional properties are assigned only when set: the verdict has the same own
 * properties as one built by spreading.
 */
function finish(base: Partial_, fields: VerdictFields): DmarcVerdict {
  const v = fields as Mutable<DmarcVerdict>;
  v.mode = base.mode;
  v.dkim = base.dkim;
  v.authorDomains = base.authorDomains;
  v.queries = base.queries();
  if (v.statusText === undefined) v.statusText = STATUS_TEXT[v.status];
  if (base.spf !== undefined) v.spf = base.spf;
  const ar = formatArHeader(base.authservId, v);
  v.arHeader = ar.header;
  v.arDmarc = ar.dmarc;
  return v;
}

interface Aligned {
  readonly domain?: string;
  readonly error?: unknown;
}
const NOT_ALIGNED: Aligned = Object.freeze({});

/** Lower case without trailing dots (as `.toLowerCase().replace(/\.+$/, "")`, without a regex per call). */
export function bareDomain(name: string): string {
  const lower = name.toLowerCase();
  let end = lower.length;
  while (end > 0 && lower.charCodeAt(end - 1) === 0x2e) end--;
  return end === lower.length ? lower : lower.slice(0, end);
}

/** Errors become verdicts here and only here. */
function toErrorVerdict(base: Partial_, err: unknown, authorDomain: string | undefined, extra: Partial<DmarcVerdict> = {}): DmarcVerdict {
  const code = err instanceof DmarcError ? err.code : dmarcErrorCodes.internal;
  const problem = err instanceof DmarcError ? err.message : "internal error in DMARC evaluation";
  return finish(base, {
    result: "temperror",
    status: "temperror",
    statusText: `Temporary error in DMARC processing: ${problem}`,
    usedDomain: extra.policyDomain ?? authorDomain ?? "",
    domainPolicy: "",
    disposition: "none",
    alignment: { spf: false, dkim: false },
    ...(authorDomain === undefined ? {} : { authorDomain }),
    ...extra,
    problem,
    code,
  });
}

/** Evaluates DMARC for one message. Never throws for DNS or input conditions. */
export async function evaluateDmarc(input: DmarcInput, options: DmarcOptions): Promise<DmarcVerdict> {
  if (options.mode !== "rfc7489" && options.mode !== "rfc9989") throw new DmarcOptionsError(`unknown DMARC mode ${String(options.mode)}`);
  const lookup = new DmarcLookup(options.dns, { ...defaultLookupLimits, ...options.limits }, options.signal);
  const spf = input.spf === undefined ? undefined : { ...input.spf, domain: bareDomain(input.spf.domain) };
  const base: Partial_ = { mode: options.mode, authservId: options.authservId, dkim: input.dkim, spf, authorDomains: [], queries: () => lookup.queries.length };

  const from = input.from ?? (input.message === undefined ? [] : fromFieldValues(input.message));
  const author = authorDomains(from);
  base.authorDomains = author.kind === "one" ? [author.domain] : author.domains;
  if (author.kind === "multiple-domains" && options.mode === "rfc7489") return strictestOf(base, author.domains, spf, input.dkim, options, lookup);
  if (author.kind !== "one") {
    const why = {
      none: "No From: domain found",
      "multiple-domains": "Multiple From: domains, DMARC validation not possible",
      invalid: "A From: mailbox has no valid domain",
      "multiple-fields": "Multiple From: header fields",
    }[author.kind];
    return finish(base, { result: "none", status: "nofrom", statusText: why, usedDomain: "", domainPolicy: "", disposition: "none", alignment: { spf: false, dkim: false }, problem: why });
  }
  const authorDomain = author.domain;
  try {
    return await evaluateFor(base, authorDomain, spf, input.dkim, options, lookup);
  } catch (err) {
    return toErrorVerdict(base, err, authorDomain);
  }
}

/**
 * RFC 7489 6.6.1: a From field with mailboxes of several domains is checked
 * once per domain and the strictest policy among the failing checks applies
 * (a temperror for any domain makes the whole temperror). RFC 9989 instead
 * leaves such a message without DMARC validation (nofrom).
 */
async function strictestOf(
  base: Partial_,
  domains: readonly string[],
  spf: SpfResultInput | undefined,
  dkim: readonly DkimResultInput[],
  options: DmarcOptions,
  lookup: DmarcLookup,
): Promise<DmarcVerdict> {
  const verdicts: DmarcVerdict[] = [];
  for (const domain of domains.slice(0, 8)) {
    try {
      verdicts.push(await evaluateFor(base, domain, spf, dkim, options, lookup));
    } catch (err) {
      return toErrorVerdict(base, err, domain);
    }
  }
  const temp = verdicts.find((v) => v.result === "temperror");
  if (temp !== undefined) return temp;
  const failing = verdicts.filter((v) => v.result === "fail").sort((a, b) => STRENGTH[b.disposition] - STRENGTH[a.disposition]);
  return failing[0] ?? verdicts.find((v) => v.result === "pass") ?? (verdicts[0] as DmarcVerdict);
}

async function evaluateFor(
  base: Partial_,
  authorDomain: string,
  spf: SpfResultInput | undefined,
  dkim: readonly DkimResultInput[],
  options: DmarcOptions,
  lookup: DmarcLookup,
): Promise<DmarcVerdict> {
  const is9989 = options.mode === "rfc9989";
  const privateDomains = options.pslPrivateDomains ?? true;
  const discovery: Discovery = is9989 ? await discover9989(authorDomain, lookup) : await discover7489(authorDomain, lookup, privateDomains);
  const { record, recordDomain } = discovery;
  const noPolicy = (problem?: string): DmarcVerdict => {
    const v: Mutable<VerdictFields> = {
      result: "none",
      status: "none",
      statusText: problem ?? "No DMARC record",
      usedDomain: recordDomain ?? authorDomain,
      domainPolicy: "",
      disposition: "none",
      alignment: { spf: false, dkim: false },
      authorDomain,
    };
    if (discovery.orgDomain !== undefined) v.orgDomain = discovery.orgDomain;
    if (problem !== undefined) v.problem = problem;
    return finish(base, v);
  };
  if (record === undefined || recordDomain === undefined) return noPolicy(discovery.note);
  const tags = policyTags(record, is9989);
  if (tags === null) return noPolicy(`DMARC record at ${recordDomain} has no valid policy`);

  // The policy for the Author Domain: p at the record's own domain; sp below it, np when the Author Domain does not exist (9989).
  let policy: Policy = tags.p;
  let existenceError: unknown;
  if (recordDomain !== authorDomain) {
    policy = tags.sp ?? tags.p;
    if (tags.np !== undefined) {
      try {
        if (!(await lookup.exists(authorDomain))) policy = tags.np;
      } catch (err) {
        if (tags.np !== policy) {
          // Which of the two applies is unknown; it matters only for a failing message (then temperror).
          existenceError = err;
          if (STRENGTH[tags.np] < STRENGTH[policy]) policy = tags.np;
        }
      }
    }
  }

  const orgDomain = discovery.orgDomain;
  let walked: Map<string, Promise<string>> | undefined;
  const maxWalks = options.limits?.maxAlignmentWalks ?? defaultLookupLimits.maxAlignmentWalks;
  const alignsRelaxed = async (id: string): Promise<boolean> => {
    if (id === authorDomain) return true;
    if (!is9989) return pslOrganizationalDomain(id, privateDomains) === pslOrganizationalDomain(authorDomain, privateDomains);
    if (orgDomain === undefined) {
      if (!sameTld(id, authorDomain)) return false;
      throw discovery.orgError ?? new DmarcInternalError("organizational domain unknown");
    }
    // An identifier's Organizational Domain is itself or a parent, so only names at or under ours can align.
    if (id !== orgDomain && !id.endsWith(`.${orgDomain}`)) return false;
    walked ??= new Map();
    let p = walked.get(id);
    if (p === undefined) {
      if (walked.size >= maxWalks) throw new DmarcLimitError(dmarcLimitKinds.walks, `more than ${maxWalks} tree walks for alignment`);
      p = walkOrgDomain(id, lookup);
      walked.set(id, p);
    }
    return (await p) === orgDomain;
  };
  const firstAligned = async (ids: readonly string[], strict: boolean): Promise<Aligned> => {
    let error: unknown;
    for (const raw of ids) {
      const id = bareDomain(raw);
      if (id === "") continue;
      try {
        if (strict ? id === authorDomain : await alignsRelaxed(id)) return { domain: raw };
      } catch (err) {
        error ??= err;
      }
    }
    return error === undefined ? NOT_ALIGNED : { error };
  };
  // SPF first, so that a flood of DKIM signatures cannot use up the walks it needs.
  const spfAligned = spf !== undefined && spf.domain !== "" && spf.result.toLowerCase() === "pass" ? await firstAligned([spf.domain], record.aspf === "s") : NOT_ALIGNED;
  const dkimIds: string[] = [];
  for (const d of dkim) if (d.result.toLowerCase() === "pass") dkimIds.push(d.domain);
  const dkimAligned = dkimIds.length === 0 ? NOT_ALIGNED : await firstAligned(dkimIds, record.adkim === "s");
  const alignment: Mutable<DmarcVerdict["alignment"]> = { spf: spfAligned.domain !== undefined, dkim: dkimAligned.domain !== undefined };
  if (spfAligned.domain !== undefined) alignment.spfDomain = spfAligned.domain;
  if (dkimAligned.domain !== undefined) alignment.dkimDomain = dkimAligned.domain;
  // Built property by property, not by spreading a shared part (see finish).
  const outcome = (result: "pass" | "fail", status: EximDmarcStatus, domainPolicy: "" | Policy, disposition: Policy): Mutable<VerdictFields> => {
    const v: Mutable<VerdictFields> = { result, status, usedDomain: recordDomain, domainPolicy, disposition, alignment, authorDomain, policyDomain: recordDomain, record, tags, policy };
    if (orgDomain !== undefined) v.orgDomain = orgDomain;
    return v;
  };
  if (alignment.spf || alignment.dkim) return finish(base, outcome("pass", "accept", existenceError === undefined ? policy : "", "none"));
  const walkError = spfAligned.error ?? dkimAligned.error ?? existenceError;
  if (walkError !== undefined) {
    const common = { authorDomain, ...(orgDomain === undefined ? {} : { orgDomain }), policyDomain: recordDomain, record, tags, usedDomain: recordDomain, alignment };
    return toErrorVerdict(base, walkError, authorDomain, common);
  }

  let disposition = policy;
  let override: PolicyOverride | undefined;
  if (is9989) {
    if (record.testing && policy !== "none") {
      disposition = WEAKER[policy];
      override = "policy_test_mode";
    }
  } else if (record.pct < 100 && policy !== "none") {
    const draw = (options.random ?? Math.random)() * 100;
    if (draw >= record.pct) {
      disposition = WEAKER[policy];
      override = "sampled_out";
    }
  }
  const v = outcome("fail", disposition, policy, disposition);
  if (override !== undefined) v.override = override;
  return finish(base, v);
}
