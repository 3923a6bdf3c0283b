import { isSpfRecord, type Mechanism, parseRecord } from "./record";

interface Case {
  name: string;
  text: string;
  /** Directive summaries: qualifier, kind and arguments. */
  want?: string[];
  wantRedirect?: string;
  wantExp?: string;
  /** Substring of the syntax error's reason. */
  wantError?: string;
}

function summary(m: Mechanism): string {
  switch (m.kind) {
    case "all":
      return "all";
    case "include":
    case "exists":
      return `${m.kind}:${m.domain.text}`;
    case "ptr":
      return m.domain ? `ptr:${m.domain.text}` : "ptr";
    case "a":
    case "mx":
      return `${m.kind}${m.domain ? `:${m.domain.text}` : ""}/${m.cidr4}//${m.cidr6}`;
    case "ip4":
    case "ip6":
      return `${m.kind}:${Array.from(m.network).join(".")}/${m.cidr}`;
  }
}

const cases: Case[] = [
  { name: "empty record", text: "v=spf1", want: [] },
  { name: "all qualifiers", text: "v=spf1 +all -all ~all ?all all", want: ["+all", "-all", "~all", "?all", "+all"] },
  { name: "case-insensitive names", text: "V=SpF1 -ALL MX A:Example.COM", want: ["-all", "+mx/32//128", "+a:Example.COM/32//128"] },
  { name: "several spaces and trailing space", text: "v=spf1  a   -all ", want: ["+a/32//128", "-all"] },
  { name: "dual cidr", text: "v=spf1 a/24//64 mx//48 a:foo.example.com/0", want: ["+a/24//64", "+mx/32//48", "+a:foo.example.com/0//128"] },
  { name: "colon and slash inside domain-spec", text: "v=spf1 a:foo:bar/baz.example.com", want: ["+a:foo:bar/baz.example.com/32//128"] },
  { name: "domain-spec ending in a macro", text: "v=spf1 exists:%{i}.%{l2r-}.user.%{d2}", want: ["+exists:%{i}.%{l2r-}.user.%{d2}"] },
  { name: "trailing dot after toplabel", text: "v=spf1 include:o.spf.example.com.", want: ["+include:o.spf.example.com."] },
  { name: "dashed IDN toplabel", text: "v=spf1 a:foo.example.xn--zckzah", want: ["+a:foo.example.xn--zckzah/32//128"] },
  { name: "ip4 and ip6", text: "v=spf1 ip4:192.0.2.0/24 ip6:::1.1.1.1/0", want: ["+ip4:192.0.2.0/24", "+ip6:0.0.0.0.0.0.0.0.0.0.0.0.1.1.1.1/0"] },
  { name: "ptr forms", text: "v=spf1 ptr ptr:example.com", want: ["+ptr", "+ptr:example.com"] },
  { name: "redirect and exp", text: "v=spf1 redirect=_spf.example.com exp=why.%{d}", want: [], wantRedirect: "_spf.example.com", wantExp: "why.%{d}" },
  { name: "redirect ignored with all", text: "v=spf1 redirect=other.example.com ~all", want: ["~all"] },
  { name: "unknown modifiers", text: "v=spf1 moo.cow-far_out=man:dog/cat default=pass foo= -all", want: ["-all"] },
  { name: "unknown mechanism", text: "v=spf1 moo", wantError: "unknown mechanism" },
  { name: "modifier name with slash", text: "v=spf1 moo.cow/far_out=man:dog/cat", wantError: "unknown mechanism" },
  { name: "modifier name with digit first", text: "v=spf1 1up=foo", wantError: "unknown mechanism" },
  { name: "empty modifier name", text: "v=spf1 =all", wantError: "unknown mechanism" },
  { name: "redirect with colon", text: "v=spf1 redirect:example.com", wantError: "unknown mechanism" },
  { name: "all with argument", text: "v=spf1 -all:foobar", wantError: "all takes no arguments" },
  { name: "all with dot", text: "v=spf1 -all.", wantError: "unknown mechanism" },
  { name: "all with cidr", text: "v=spf1 -all/8", wantError: "all takes no arguments" },
  { name: "ptr with cidr", text: "v=spf1 ptr/0", wantError: "ptr takes only" },
  { name: "empty a domain", text: "v=spf1 a:", wantError: "empty domain-spec" },
  { name: "include without domain", text: "v=spf1 include", wantError: "needs a domain-spec" },
  { name: "include with cidr", text: "v=spf1 include:example.com/24", wantError: "toplabel" },
  { name: "exists without domain", text: "v=spf1 exists", wantError: "needs a domain-spec" },
  { name: "only a toplabel", text: "v=spf1 a:museum", wantError: "toplabel" },
  { name: "only a toplabel with dot", text: "v=spf1 a:museum.", wantError: "toplabel" },
  { name: "numeric toplabel", text: "v=spf1 a:111.222.33.44", wantError: "toplabel" },
  { name: "toplabel starting with dash", text: "v=spf1 a:example.-com", wantError: "toplabel" },
  { name: "port after domain", text: "v=spf1 a:example.com:8080", wantError: "toplabel" },
  { name: "ip4 cidr 33", text: "v=spf1 ip4:1.2.3.4/33", wantError: "CIDR" },
  { name: "ip4 cidr leading zero", text: "v=spf1 ip4:1.2.3.4/032", wantError: "CIDR" },
  { name: "ip4 dual cidr", text: "v=spf1 ip4:1.2.3.4//32", wantError: "CIDR" },
  { name: "ip4 short", text: "v=spf1 ip4:1.2.3", wantError: "invalid ip4" },
  { name: "ip4 leading zero", text: "v=spf1 ip4:1.2.03.4", wantError: "invalid ip4" },
  { name: "ip4 with port", text: "v=spf1 ip4:1.2.3.4:8080", wantError: "invalid ip4" },
  { name: "bare ip6", text: "v=spf1 -all ip6", wantError: "needs an address" },
  { name: "ip6 cidr 129", text: "v=spf1 ip6:::1/129", wantError: "CIDR" },
  { name: "ip6 bad", text: "v=spf1 ip6::CAFE::BABE", wantError: "invalid ip6" },
  { name: "a cidr 33", text: "v=spf1 a/33", wantError: "CIDR" },
  { name: "a ip6 cidr 129", text: "v=spf1 a//129", wantError: "CIDR" },
  { name: "a single slash dual", text: "v=spf1 a/24/64", wantError: "invalid mechanism arguments" },
  { name: "exp twice", text: "v=spf1 exp=a.example.com exp=b.example.com", wantError: "only once" },
  { name: "redirect twice", text: "v=spf1 redirect=a.example.com redirect=b.example.com", wantError: "only once" },
  { name: "empty exp", text: "v=spf1 exp= -all", wantError: "empty domain-spec" },
  { name: "empty redirect", text: "v=spf1 ?all redirect=", wantError: "empty domain-spec" },
  { name: "bad macro in unknown modifier", text: "v=spf1 -all foo=%abc", wantError: "invalid macro-string" },
  { name: "exp-only macro in domain", text: "v=spf1 -all exp=%{r}.example.com", wantError: "allowed only in explanations" },
  { name: "unknown macro letter", text: "v=spf1 a:%{a}.example.com", wantError: "unknown macro letter" },
  { name: "percent not followed properly", text: "v=spf1 exists:foo%.sbl.example.com", wantError: "must be followed" },
  { name: "non-ASCII", text: "v=spf1 \x80a:example.net -all", wantError: "invalid character" },
  { name: "control character", text: "v=spf1 a:ctrl.example.com\rptr -all", wantError: "invalid character" },
  { name: "newline", text: "v=spf1 ip4:192.0.2.5\n include:example.com", wantError: "invalid character" },
  { name: "NUL", text: "v=spf1 a:foo.example.com\0", wantError: "invalid character" },
  { name: "not a record", text: "v=spf10", wantError: "not a v=spf1 record" },
];

describe("parseRecord", () => {
  test.each(cases)("$name", ({ text, want, wantRedirect, wantExp, wantError }) => {
    const parsed = parseRecord(text);
    if (wantError !== undefined) {
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.error.reason).toContain(wantError);
        expect(parsed.error.code).toBe("POSTERN_SPF_SYNTAX");
      }
      return;
    }
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.record.directives.map((d) => `${d.qualifier}${summary(d.mechanism)}`)).toEqual(want);
    expect(parsed.record.redirect?.text).toBe(wantRedirect);
    expect(parsed.record.exp?.text).toBe(wantExp);
  });

  // Derived variants: extra spaces between and after terms change nothing; a
  // trailing junk term turns any valid record into a syntax error.
  test.each(cases.filter((c) => c.wantError === undefined))("variants of $name", ({ text }) => {
    const base = parseRecord(text);
    const spaced = parseRecord(`${text.replace(/ /g, "  ")}   `);
    expect(spaced.ok && base.ok && spaced.record.directives.map((d) => d.text)).toEqual(base.ok && base.record.directives.map((d) => d.text));
    expect(parseRecord(`${text} mo0`).ok).toBe(false);
  });
});

describe("isSpfRecord", () => {
  test.each([
    ["v=spf1", true],
    ["v=spf1 -all", true],
    ["V=SPF1 -all", true],
    ["v=spf10", false],
    ["v=spf1-all", false],
    [" v=spf1", false],
    ["spf2.0/pra", false],
    ["", false],
  ])("%j → %s", (text, want) => {
    expect(isSpfRecord(text)).toBe(want);
  });
});

describe("hostile sizes", () => {
  test.each([
    ["long label", `v=spf1 a:.${"a".repeat(60000)}!`],
    ["many slashes", `v=spf1 a:${"/".repeat(60000)}`],
    ["many colons", `v=spf1 a:${":".repeat(60000)}.com`],
    ["many macros", `v=spf1 exists:${"%{d}".repeat(12000)}`],
    ["many terms", `v=spf1 ${"ip4:192.0.2.1 ".repeat(5000)}`],
  ])("%s parses in linear time", (_name, text) => {
    const start = process.hrtime.bigint();
    parseRecord(text);
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(500);
  });
});
