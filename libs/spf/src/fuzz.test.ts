/**
 * Property tests (issue 5, and issue 14's fuzzing in CI): a published record
 * is hostile input.
 * - The record parser and the macro expander: POSTERN_FUZZ_RUNS cases
 *   (default 100000; POSTERN_FUZZ_SEED replays a failure) of random,
 *   mutated-valid and valid record and macro text never throw, a syntax error
 *   is an SpfSyntaxError value, expansion stays within its length cap, and
 *   valid records and macro-strings parse and expand to what was built. The
 *   checks are plain comparisons, not expect(): at 100,000 cases jest's
 *   matchers cost more than the parser.
 * - Whole checks against a fake zone (a few hundred cases: each is a full
 *   evaluation): every check resolves to one of the seven results, and
 *   check_host() never rejects with a resolver that does not throw.
 */
import { inspect } from "node:util";
import * as fc from "fast-check";
import { SpfSyntaxError } from "./errors";
import { checkHost, type EvalContext } from "./evaluate";
import { formatIPv6, parseClientIp } from "./ip";
import { LimitedDns, resolveLimits } from "./limits";
import { expandMacros, type MacroPlace, type MacroToken, type MacroVars, parseMacroString } from "./macro";
import { parseRecord, type Mechanism } from "./record";
import { spfResults } from "./results";
import { createZoneDns, type ZoneData } from "./testing/zone-dns";
import { createSpfChecker } from "./verdict";

const RESULTS = Object.values(spfResults);

const pieces = [
  "a", "mx", "ptr", "all", "-all", "~all", "?all", "+all", "include:inc.example.com", "include:%{d}", "redirect=r.example.com",
  "redirect=%{o}", "exp=e.example.com", "exists:%{i}.x.example.com", "a:%{p}.example.com", "ip4:192.0.2.0/24", "ip6:2001:db8::/32",
  "a/24//64", "mx:%{d2}/0", "ptr:%{o}", "%{l2r-}", "%{H}", "%%", "%_", "%-", ":", "/", "//", "=", ".", "%", "{", "}", "v=spf1",
];
const noise = fc.string({ unit: "binary", maxLength: 12 });
const asciiNoise = fc.string({ unit: fc.constantFrom(..."%{}:/.-=+~?!ai0123456789 \t\r\n\0\u0080\u00ff"), maxLength: 16 });
const term = fc.oneof(fc.constantFrom(...pieces), noise, asciiNoise, fc.tuple(fc.constantFrom(...pieces), asciiNoise).map(([a, b]) => a + b));
const record = fc.array(term, { maxLength: 14 }).map((terms) => `v=spf1 ${terms.join(" ")}`);
const anyText = fc.oneof(record, noise, asciiNoise);

function zoneWith(main: string, inc: string, redirect: string, exp: string): ZoneData {
  return {
    "example.com": [{ TXT: main }, { A: "192.0.2.1" }, { MX: [10, "mx.example.com"] }],
    "inc.example.com": [{ TXT: inc }],
    "r.example.com": [{ TXT: redirect }],
    "e.example.com": [{ TXT: exp }],
    "mx.example.com": [{ A: "192.0.2.2" }, { AAAA: "2001:db8::2" }],
    "1.0.2.0.192.in-addr.arpa": [{ PTR: "mx.example.com" }],
  };
}

const client = fc.constantFrom("192.0.2.1", "192.0.2.2", "2001:db8::2", "::ffff:192.0.2.1", "198.51.100.1");
const sender = fc.oneof(fc.constantFrom("user@example.com", "", "@example.com", "example.com"), fc.string({ maxLength: 20 }));

const RUNS = Number(process.env.POSTERN_FUZZ_RUNS ?? 100_000);
const SEED = process.env.POSTERN_FUZZ_SEED === undefined ? undefined : Number(process.env.POSTERN_FUZZ_SEED);
const PLACES: readonly MacroPlace[] = ["domain", "explanation", "modifier"];

function check(ok: boolean, what: string, ...details: unknown[]): void {
  if (!ok) throw new Error(`${what}: ${details.map((d) => inspect(d, { depth: 5, maxStringLength: 300 })).join(" / ")}`);
}

// ---- valid macro-strings, with the tokens they must parse to ----------------------------------

type MacroSpec = Extract<MacroToken, { kind: "macro" }>;
const macroSpec: fc.Arbitrary<MacroSpec> = fc.record(
  {
    kind: fc.constant("macro" as const),
    letter: fc.constantFrom("s", "l", "o", "d", "i", "p", "h", "v"),
    escape: fc.boolean(),
    parts: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 130 })),
    reverse: fc.boolean(),
    delimiters: fc.string({ unit: fc.constantFrom(...".-+,/_="), maxLength: 3 }),
  },
  { noNullPrototype: true },
);
const macroText = (m: MacroSpec): string =>
  `%{${m.escape ? m.letter.toUpperCase() : m.letter}${m.parts === 0 ? "" : m.parts}${m.reverse ? "r" : ""}${m.delimiters}}`;
/** literal runs without "%" (the escapes %% %_ %- are tested as their own pieces) */
const literal = fc.string({ unit: fc.constantFrom(..."abc.XYZ-09_=+/"), minLength: 1, maxLength: 8 });
const macroString = fc.array(fc.oneof(literal.map((text) => ({ kind: "literal" as const, text })), macroSpec), { minLength: 1, maxLength: 5 }).map((pieces) => {
  // adjacent literals parse as one token
  const tokens: MacroToken[] = [];
  for (const p of pieces) {
    const last = tokens[tokens.length - 1];
    if (p.kind === "literal" && last?.kind === "literal") tokens[tokens.length - 1] = { kind: "literal", text: last.text + p.text };
    else tokens.push(p);
  }
  return { text: pieces.map((p) => (p.kind === "literal" ? p.text : macroText(p))).join(""), tokens };
});

/** RFC 7208 section 7.3 transformation, written the plain way as a reference. */
function referenceExpand(tokens: readonly MacroToken[], vars: MacroVars): string {
  return tokens
    .map((t) => {
      if (t.kind === "literal") return t.text;
      const value = vars[t.letter];
      const delims = t.delimiters === "" ? "." : t.delimiters;
      let parts = value.split(new RegExp(`[${delims.replace(/[-\/\\^$*+?.()|[\]{}]/g, "\\$&")}]`));
      if (t.reverse) parts = parts.reverse();
      if (t.parts > 0) parts = parts.slice(Math.max(0, parts.length - t.parts));
      const out = parts.join(".");
      if (!t.escape) return out;
      return [...Buffer.from(out, "utf8")].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");
    })
    .join("");
}

const varValue = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."ab.c-d+e,f/g_h=i"), maxLength: 24 }),
  fc.constantFrom("user@example.com", "192.0.2.1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2", "example.com", ""),
  fc.string({ unit: "grapheme", maxLength: 10 }),
);
const macroVars: fc.Arbitrary<MacroVars> = fc.record(
  { s: varValue, l: varValue, o: varValue, d: varValue, i: varValue, p: varValue, h: varValue, c: varValue, r: varValue, t: varValue, v: varValue },
  { noNullPrototype: true },
);

// ---- valid records, with the directives they must parse to ------------------------------------

type TermSpec = { text: string; qualifier: string; want: Mechanism["kind"] | "redirect" | "exp" | "unknown"; cidr?: number[] };
const domainSpec = fc.oneof(
  fc.array(fc.string({ unit: fc.constantFrom(..."abcz09-"), minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }).map((ls) => `${ls.join(".")}.example`),
  macroString.map((m) => `${m.text}.example`),
  macroSpec.map((m) => `x.${macroText(m)}`),
);
const qualifier = fc.constantFrom("", "+", "-", "~", "?");
const cidr4 = fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined });
const cidr6 = fc.option(fc.integer({ min: 0, max: 128 }), { nil: undefined });
const termSpec: fc.Arbitrary<TermSpec> = fc.oneof(
  fc.tuple(qualifier, fc.constantFrom("all", "ALL")).map(([q, m]) => ({ text: `${q}${m}`, qualifier: q, want: "all" as const })),
  fc.tuple(qualifier, fc.constantFrom("include", "exists"), domainSpec).map(([q, m, d]) => ({ text: `${q}${m}:${d}`, qualifier: q, want: m })),
  fc.tuple(qualifier, fc.constantFrom("a", "mx"), fc.option(domainSpec, { nil: undefined }), cidr4, cidr6).map(([q, m, d, c4, c6]) => ({
    text: `${q}${m}${d === undefined ? "" : `:${d}`}${c4 === undefined ? "" : `/${c4}`}${c6 === undefined ? "" : `//${c6}`}`,
    qualifier: q,
    want: m,
    cidr: [c4 ?? 32, c6 ?? 128],
  })),
  fc.tuple(qualifier, fc.option(domainSpec, { nil: undefined })).map(([q, d]) => ({ text: `${q}ptr${d === undefined ? "" : `:${d}`}`, qualifier: q, want: "ptr" as const })),
  fc.tuple(qualifier, fc.ipV4(), cidr4).map(([q, ip, c]) => ({ text: `${q}ip4:${ip}${c === undefined ? "" : `/${c}`}`, qualifier: q, want: "ip4" as const, cidr: [c ?? 32] })),
  fc.tuple(qualifier, fc.uint8Array({ minLength: 16, maxLength: 16 }), cidr6).map(([q, b, c]) => ({ text: `${q}ip6:${formatIPv6(b)}${c === undefined ? "" : `/${c}`}`, qualifier: q, want: "ip6" as const, cidr: [c ?? 128] })),
  fc.tuple(fc.constantFrom("x-note", "foo.bar", "v2"), fc.oneof(fc.constant(""), macroString.map((m) => m.text))).map(([n, v]) => ({ text: `${n}=${v}`, qualifier: "", want: "unknown" as const })),
);
const validRecord = fc
  .tuple(fc.array(termSpec, { maxLength: 8 }), fc.option(domainSpec, { nil: undefined }), fc.option(domainSpec, { nil: undefined }), fc.constantFrom(" ", "  "), fc.boolean())
  .map(([terms, redirect, exp, sep, upper]) => {
    const all: TermSpec[] = [...terms];
    if (redirect !== undefined) all.push({ text: `redirect=${redirect}`, qualifier: "", want: "redirect" });
    if (exp !== undefined) all.push({ text: `exp=${exp}`, qualifier: "", want: "exp" });
    return { text: `${upper ? "V=SPF1" : "v=spf1"}${sep}${all.map((t) => t.text).join(sep)}`, terms: all, redirect, exp };
  });

/** Damage to record or macro text: characters inserted, deleted, replaced and runs repeated. */
const damage = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.constantFrom(..."%{}:/ .=-+~?!ar0123\u0000\u00e9\t")), { minLength: 1, maxLength: 4 });
function mutate(text: string, ds: readonly [number, number, string][]): string {
  let t = text;
  for (const [at, kind, ch] of ds) {
    const i = t.length === 0 ? 0 : at % t.length;
    if (kind === 0) t = t.slice(0, i) + ch + t.slice(i);
    else if (kind === 1) t = t.slice(0, i) + t.slice(i + 1 + (at % 5));
    else if (kind === 2) t = t.slice(0, i) + ch + t.slice(i + 1);
    else t = t.slice(0, i) + t.slice(i, i + 1 + (at % 20)).repeat(2 + (at % 3)) + t.slice(i);
  }
  return t;
}

/** Parsing any text returns a value; whatever parses, expands within its cap. */
function checkAnyText(text: string, vars: MacroVars, cap: number): void {
  const parsed = parseRecord(text);
  check(parsed.ok || parsed.error instanceof SpfSyntaxError, "record: not a syntax error value", parsed);
  if (parsed.ok) {
    for (const d of parsed.record.directives) {
      const m = d.mechanism;
      if ("domain" in m && m.domain !== undefined) check(expandMacros(m.domain.tokens, vars, cap).length <= cap, "expansion over its cap");
    }
  }
  for (const place of PLACES) {
    const m = parseMacroString(text, place);
    if (!m.ok) {
      check(m.error instanceof SpfSyntaxError, "macro: not a syntax error value", m);
      continue;
    }
    check(expandMacros(m.value.tokens, vars, cap).length <= cap, "expansion over its cap");
  }
}

describe("fuzz", () => {
  test(`record parser and macro expander: ${RUNS} random, mutated and valid texts`, () => {
    const started = Date.now();
    const seen = { valid: 0, macro: 0, mutated: 0, random: 0, parsed: 0 };
    const sample = fc.oneof(
      { weight: 2, arbitrary: validRecord.map((r) => ({ kind: "valid" as const, r })) },
      { weight: 2, arbitrary: macroString.map((m) => ({ kind: "macro" as const, m })) },
      { weight: 4, arbitrary: fc.tuple(fc.oneof(validRecord.map((r) => r.text), macroString.map((m) => m.text)), damage).map(([t, d]) => ({ kind: "mutated" as const, text: mutate(t, d) })) },
      { weight: 2, arbitrary: anyText.map((text) => ({ kind: "random" as const, text })) },
    );
    fc.assert(
      fc.property(sample, macroVars, fc.constantFrom(253, 1000, 20), (s, vars, cap) => {
        seen[s.kind]++;
        if (s.kind === "mutated" || s.kind === "random") {
          checkAnyText(s.text, vars, cap);
          return;
        }
        if (s.kind === "macro") {
          for (const place of ["explanation", "modifier"] as const) {
            const m = parseMacroString(s.m.text, place);
            check(m.ok && JSON.stringify(m.value.tokens) === JSON.stringify(s.m.tokens), "macro-string tokens", s.m.text, m, s.m.tokens);
            if (!m.ok) return;
            const want = referenceExpand(s.m.tokens, vars);
            const got = expandMacros(m.value.tokens, vars, cap);
            check(got === want.slice(0, cap), "expansion", s.m.text, got, want);
          }
          return;
        }
        const parsed = parseRecord(s.r.text);
        check(parsed.ok, "valid record refused", s.r.text, parsed);
        if (!parsed.ok) return;
        seen.parsed++;
        const rec = parsed.record;
        const directives = s.r.terms.filter((t) => t.want !== "redirect" && t.want !== "exp" && t.want !== "unknown");
        check(rec.directives.length === directives.length, "directive count", s.r.text, rec.directives);
        directives.forEach((t, i) => {
          const d = rec.directives[i];
          check(d !== undefined && d.mechanism.kind === t.want && d.text === t.text && d.qualifier === (t.qualifier === "" ? "+" : t.qualifier), "directive", t, d);
          const m = d?.mechanism;
          if (m !== undefined && (m.kind === "a" || m.kind === "mx")) check(m.cidr4 === t.cidr?.[0] && m.cidr6 === t.cidr?.[1], "dual cidr", t, m);
          if (m !== undefined && (m.kind === "ip4" || m.kind === "ip6")) check(m.cidr === t.cidr?.[0], "cidr", t, m);
        });
        const hasAll = directives.some((t) => t.want === "all");
        check(rec.redirect?.text === (hasAll ? undefined : s.r.redirect), "redirect", rec.redirect, s.r.redirect);
        check(rec.exp?.text === s.r.exp, "exp", rec.exp, s.r.exp);
        check(rec.unknownModifiers.length === s.r.terms.filter((t) => t.want === "unknown").length, "unknown modifiers", rec.unknownModifiers);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`spf fuzz: ${RUNS} cases in ${Date.now() - started} ms ${JSON.stringify(seen)}`);
    expect(seen.valid + seen.macro + seen.mutated + seen.random).toBeGreaterThanOrEqual(RUNS);
  }, 1_200_000);

  test("a check never throws and always gives one of the seven results", async () => {
    await fc.assert(
      fc.asyncProperty(record, record, record, anyText, client, sender, noise, fc.boolean(), async (main, inc, redir, exp, ip, mailFrom, helo, guess) => {
        const checker = createSpfChecker(createZoneDns(zoneWith(main, inc, redir, exp)));
        const verdict = await checker.check({ ip, mailFrom, helo, guess });
        expect(RESULTS).toContain(verdict.result);
        expect(verdict.receivedSpf).not.toMatch(/[\r\n]/);
        expect(verdict.exim.spf_smtp_comment).toMatch(/^[\x20-\x7e]*$/);
      }),
      { numRuns: 400 },
    );
  });

  test("check_host() resolves for any record text", async () => {
    await fc.assert(
      fc.asyncProperty(record, record, async (main, inc) => {
        const ip = parseClientIp("192.0.2.1");
        if (!ip) throw new Error("test address");
        const ctx: EvalContext = {
          dns: new LimitedDns(createZoneDns(zoneWith(main, inc, inc, "x")), resolveLimits()),
          ip,
          vars: { s: "u@example.com", l: "u", o: "example.com", i: "192.0.2.1", h: "h.example.com", c: "192.0.2.1", r: "unknown", t: "0", v: "in-addr" },
          parse: parseRecord,
        };
        const outcome = await checkHost(ctx, "example.com");
        expect(["result", "none", "error"]).toContain(outcome.kind);
      }),
      { numRuns: 400 },
    );
  });
});
