/**
 * The public entry point: run check_host() for one identity and map every
 * outcome to a verdict in exactly one function (`toVerdict`). Syntax, limit
 * and policy errors are permerror, DNS errors temperror, and anything
 * unexpected (a resolver that throws, a bug) temperror as well. Services never
 * map results again.
 */
import { type SpfDns } from "./dns";
import { type SpfErrorCode, SpfInputError, SpfInternalError, SpfOptionsError, SpfDnsError } from "./errors";
import { type EvalContext, checkHost, evaluateRecord, type HostOutcome } from "./evaluate";
import { explain } from "./explain";
import { headerTexts, smtpSafe } from "./headers";
import { type ClientIp, macroIp, parseClientIp } from "./ip";
import { LimitedDns, resolveLimits, type SpfLimits } from "./limits";
import { type MacroString, parseMacroString } from "./macro";
import { stripDot } from "./names";
import { parseRecord, type RecordParse, type SpfRecord } from "./record";
import { type SpfIdentity, type SpfResult } from "./results";

/** Exim's default spf_guess record. */
export const DEFAULT_GUESS_RECORD = "v=spf1 a/24 mx/24 ptr ?all";
/** Explain-string used when a fail has no usable exp=. */
export const DEFAULT_EXPLANATION = "%{o} does not designate %{c} as a permitted sender";

export interface SpfCheckerOptions {
  /** Host name of this MTA: the `%{r}` macro and `receiver=`. Default "unknown". */
  readonly receiver?: string;
  /** Explain-string for a fail without a usable exp=. Default DEFAULT_EXPLANATION. */
  readonly defaultExplanation?: string;
  /** Record applied by `guess: true` checks when none is published. Default DEFAULT_GUESS_RECORD. */
  readonly guessRecord?: string;
  readonly limits?: Partial<SpfLimits>;
  /** Clock for the `%{t}` macro, in milliseconds. Default Date.now. */
  readonly now?: () => number;
  /** Parsed records kept by record text. Default 1000; 0 disables. */
  readonly recordCacheSize?: number;
}

export interface SpfCheckInput {
  /** Client address, IPv4 or IPv6 (IPv4-mapped IPv6 counts as IPv4). */
  readonly ip: string;
  /** MAIL FROM without angle brackets; "" for the null reverse-path (then postmaster@helo is checked). */
  readonly mailFrom: string;
  readonly helo: string;
  /** "helo" checks the HELO identity (RFC 7208 section 2.3). Default "mailfrom". */
  readonly identity?: SpfIdentity;
  /** Apply the guess record when no record is published (Exim's spf_guess). */
  readonly guess?: boolean;
  /** The check's deadline: once aborted, queries are timeouts and the result is temperror. */
  readonly signal?: AbortSignal;
}

/** Exim's expansion variables after an spf or spf_guess condition. */
export interface EximSpfVariables {
  readonly spf_result: SpfResult;
  /** True only when the guess record produced the result (Exim expands it as yes/no). */
  readonly spf_result_guessed: boolean;
  readonly spf_header_comment: string;
  /** The explanation for fail, else the header comment (with the problem for errors); printable ASCII, capped. */
  readonly spf_smtp_comment: string;
  /** A complete header line: `Received-SPF: ...`. */
  readonly spf_received: string;
}

export interface SpfVerdict {
  readonly result: SpfResult;
  /** Only for fail: exp= text or the default explanation, printable ASCII. */
  readonly explanation?: string;
  /** The identity's domain (MAIL FROM domain, or HELO name). */
  readonly domain: string;
  readonly identity: SpfIdentity;
  /** The directive that matched, as published (`-all`, `ip4:192.0.2.0/24`). */
  readonly mechanism?: string;
  /** Why the result is permerror or temperror. */
  readonly problem?: string;
  readonly code?: SpfErrorCode;
  readonly guessed: boolean;
  readonly lookups: number;
  readonly voidLookups: number;
  /** Received-SPF field value (without the field name), one line. */
  readonly receivedSpf: string;
  /** `spf=<result> smtp.mailfrom=<sender>` (or `smtp.helo=`), for Authentication-Results. */
  readonly authenticationResults: string;
  readonly exim: EximSpfVariables;
}

export interface SpfChecker {
  /** Throws SpfInputError for an invalid client address; every other outcome is a verdict. */
  check(input: SpfCheckInput): Promise<SpfVerdict>;
}

interface Prepared {
  readonly ip: ClientIp;
  readonly identity: SpfIdentity;
  readonly sender: string;
  readonly local: string;
  readonly domain: string;
  readonly helo: string;
}

function prepare(input: SpfCheckInput): Prepared {
  const ip = parseClientIp(input.ip);
  if (!ip) throw new SpfInputError("ip", "not an IPv4 or IPv6 address");
  const helo = input.helo;
  if (input.identity === "helo" || input.mailFrom === "") {
    return { ip, identity: "helo", sender: `postmaster@${helo}`, local: "postmaster", domain: stripDot(helo), helo };
  }
  const at = input.mailFrom.lastIndexOf("@");
  const local = at > 0 ? input.mailFrom.slice(0, at) : "postmaster";
  const domain = stripDot(at === -1 ? input.mailFrom : input.mailFrom.slice(at + 1));
  return { ip, identity: "mailfrom", sender: `${local}@${domain}`, local, domain, helo };
}

type Outcome = HostOutcome | { readonly kind: "crash"; readonly cause: unknown };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The one mapping from evaluation outcomes to results. */
function toVerdict(p: Prepared, outcome: Outcome, guessed: boolean, explained: string | undefined, dns: LimitedDns, receiver: string): SpfVerdict {
  let result: SpfResult;
  let problem: string | undefined;
  let code: SpfErrorCode | undefined;
  let mechanism: string | undefined;
  switch (outcome.kind) {
    case "result":
      result = outcome.result;
      mechanism = outcome.mechanism;
      break;
    case "none":
      result = "none";
      break;
    case "error":
      result = outcome.error instanceof SpfDnsError ? "temperror" : "permerror";
      problem = outcome.error.message;
      code = outcome.error.code;
      mechanism = outcome.mechanism;
      break;
    case "crash": {
      const error = new SpfInternalError("unexpected error during SPF evaluation", { cause: outcome.cause });
      result = "temperror";
      problem = outcome.cause instanceof Error ? `${error.message}: ${outcome.cause.message}` : error.message;
      code = error.code;
      break;
    }
  }
  const explanation = result === "fail" && explained !== undefined ? smtpSafe(explained) : undefined;
  const texts = headerTexts({ result, identity: p.identity, sender: p.sender, helo: p.helo, ip: p.ip.text, receiver, mechanism, problem });
  const comment = texts.comment;
  // Optional fields are absent, not undefined, and the fields keep their order: assigned one by
  // one (a spread of a conditional object literal per field cost more than the check's queries).
  const verdict = { result } as Mutable<SpfVerdict>;
  if (explanation !== undefined) verdict.explanation = explanation;
  verdict.domain = p.domain;
  verdict.identity = p.identity;
  if (mechanism !== undefined) verdict.mechanism = mechanism;
  if (problem !== undefined) verdict.problem = problem;
  if (code !== undefined) verdict.code = code;
  verdict.guessed = guessed;
  verdict.lookups = dns.lookups;
  verdict.voidLookups = dns.voidLookups;
  verdict.receivedSpf = texts.receivedSpf;
  verdict.authenticationResults = texts.authResults;
  verdict.exim = {
    spf_result: result,
    spf_result_guessed: guessed,
    spf_header_comment: comment,
    spf_smtp_comment: smtpSafe(explanation ?? (problem === undefined ? comment : `${comment}: ${problem}`)),
    spf_received: `Received-SPF: ${texts.receivedSpf}`,
  };
  return verdict;
}

function option<T>(name: string, build: () => T): T {
  try {
    return build();
  } catch (cause) {
    throw cause instanceof SpfOptionsError ? cause : new SpfOptionsError(name, "invalid", { cause });
  }
}

/** Build a checker over an injected resolver. Throws SpfOptionsError for invalid options. */
export function createSpfChecker(resolver: SpfDns, options: SpfCheckerOptions = {}): SpfChecker {
  const limits = resolveLimits(options.limits);
  const receiver = options.receiver ?? "unknown";
  const now = options.now ?? Date.now;
  const fallback: MacroString = option("defaultExplanation", () => {
    const parsed = parseMacroString(options.defaultExplanation ?? DEFAULT_EXPLANATION, "explanation");
    if (!parsed.ok) throw new SpfOptionsError("defaultExplanation", parsed.error.message);
    return parsed.value;
  });
  const guess: SpfRecord = option("guessRecord", () => {
    const parsed = parseRecord(options.guessRecord ?? DEFAULT_GUESS_RECORD);
    if (!parsed.ok) throw new SpfOptionsError("guessRecord", parsed.error.message);
    return parsed.record;
  });
  const cacheSize = options.recordCacheSize ?? 1000;
  const cache = new Map<string, RecordParse>();
  const parse = (text: string): RecordParse => {
    const hit = cache.get(text);
    if (hit) return hit;
    const parsed = parseRecord(text);
    if (cacheSize > 0) {
      if (cache.size >= cacheSize) cache.clear();
      cache.set(text, parsed);
    }
    return parsed;
  };

  return {
    async check(input: SpfCheckInput): Promise<SpfVerdict> {
      const p = prepare(input);
      const dns = new LimitedDns(resolver, limits, input.signal);
      const vars = {
        s: p.sender,
        l: p.local,
        o: p.domain,
        i: macroIp(p.ip),
        h: p.helo,
        c: p.ip.text,
        r: receiver,
        t: String(Math.floor(now() / 1000)),
        v: p.ip.family === 4 ? "in-addr" : "ip6",
      };
      const ctx: EvalContext = { dns, ip: p.ip, vars, parse };
      let outcome: Outcome;
      let guessed = false;
      let explanation: string | undefined;
      try {
        outcome = await checkHost(ctx, p.domain);
        if (outcome.kind === "none" && !outcome.malformed && input.guess === true) {
          outcome = await evaluateRecord(ctx, guess, outcome.domain);
          guessed = true;
        }
        if (outcome.kind === "result" && outcome.result === "fail") {
          explanation = await explain(ctx, outcome.exp, outcome.domain, fallback);
        }
      } catch (cause) {
        outcome = { kind: "crash", cause };
      }
      return toVerdict(p, outcome, guessed, explanation, dns, receiver);
    },
  };
}

/** One-off check; prefer createSpfChecker() to reuse parsed options and the record cache. */
export function checkSpf(resolver: SpfDns, input: SpfCheckInput, options?: SpfCheckerOptions): Promise<SpfVerdict> {
  return createSpfChecker(resolver, options).check(input);
}
