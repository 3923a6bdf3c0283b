import { macroIp, parseClientIp } from "./ip";
import { expandMacros, type MacroPlace, type MacroVars, parseMacroString, urlEscape } from "./macro";
import { truncateName } from "./names";

function varsFor(ip: string): MacroVars {
  const client = parseClientIp(ip);
  if (!client) throw new Error(`bad test address ${ip}`);
  return {
    s: "strong-bad@email.example.com",
    l: "strong-bad",
    o: "email.example.com",
    d: "email.example.com",
    i: macroIp(client),
    p: "mx.example.org",
    h: "mx.example.org",
    c: client.text,
    r: "receiver.example.net",
    t: "1700000000",
    v: client.family === 4 ? "in-addr" : "ip6",
  };
}

function expand(text: string, vars: MacroVars, place: MacroPlace = "domain"): string {
  const parsed = parseMacroString(text, place);
  if (!parsed.ok) throw parsed.error;
  return expandMacros(parsed.value.tokens, vars, 2048);
}

// RFC 7208 section 7.4: sender strong-bad@email.example.com, client 192.0.2.3.
const rfcExamples: [string, string][] = [
  ["%{s}", "strong-bad@email.example.com"],
  ["%{o}", "email.example.com"],
  ["%{d}", "email.example.com"],
  ["%{d4}", "email.example.com"],
  ["%{d3}", "email.example.com"],
  ["%{d2}", "example.com"],
  ["%{d1}", "com"],
  ["%{dr}", "com.example.email"],
  ["%{d2r}", "example.email"],
  ["%{l}", "strong-bad"],
  ["%{l-}", "strong.bad"],
  ["%{lr}", "strong-bad"],
  ["%{lr-}", "bad.strong"],
  ["%{l1r-}", "strong"],
  ["%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"],
  ["%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"],
  ["%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"],
  ["%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"],
  ["%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"],
];

describe("RFC 7208 section 7.4 examples", () => {
  const v4 = varsFor("192.0.2.3");
  test.each(rfcExamples)("%s", (text, want) => {
    expect(expand(text, v4)).toBe(want);
  });

  test("IPv6 %{ir}.%{v}._spf.%{d2}", () => {
    // The RFC prints the nibbles in lowercase; the openspf suite (v-macro-ip6)
    // requires uppercase in explanations, as pyspf does. DNS names compare
    // case-insensitively, so both are the same query.
    const want = "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com";
    const got = expand("%{ir}.%{v}._spf.%{d2}", varsFor("2001:db8::cb01"));
    expect(got.toLowerCase()).toBe(want);
    expect(got.startsWith("1.0.B.C.")).toBe(true);
  });
});

describe("expansion rules", () => {
  const v4 = varsFor("192.0.2.3");
  test.each<[string, string, MacroPlace]>([
    ["%%%_%-", "% %20", "domain"],
    ["%{L}", "strong-bad", "domain"],
    ["%{S}", "strong-bad%40email.example.com", "domain"],
    ["%{l2r+-}", "bad.strong", "domain"],
    ["%{d999}", "email.example.com", "domain"],
    ["%{c} at %{t} by %{r}", "192.0.2.3 at 1700000000 by receiver.example.net", "explanation"],
    ["%{p2}.trusted.example.net", "example.org.trusted.example.net", "domain"],
  ])("%s", (text, want, place) => {
    expect(expand(text, v4, place)).toBe(want);
  });

  test("%{c} is RFC 5952 for IPv6", () => {
    expect(expand("%{c}", varsFor("2001:DB8:0:0::CB01"), "explanation")).toBe("2001:db8::cb01");
  });

  test("uppercase letters URL-escape everything outside the unreserved set", () => {
    expect(urlEscape("~jack&jill=up-a_b3.c")).toBe("~jack%26jill%3Dup-a_b3.c");
    expect(urlEscape("a b/é")).toBe("a%20b%2F%C3%A9");
  });

  test("expansion is capped", () => {
    const parsed = parseMacroString("%{s}%{s}%{s}", "domain");
    if (!parsed.ok) throw parsed.error;
    expect(expandMacros(parsed.value.tokens, v4, 40)).toHaveLength(40);
  });

  test("long names lose leftmost labels until they fit 253 octets", () => {
    const name = `${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.example.com`;
    expect(truncateName(name)).toBe(`${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.example.com`);
  });
});

describe("parseMacroString", () => {
  test.each<[string, MacroPlace, string]>([
    ["%{a}", "domain", "unknown macro letter"],
    ["%{}", "domain", "unknown macro letter"],
    ["%{d0}", "domain", "nonzero"],
    ["%{d2x}", "domain", "delimiter"],
    ["%{d", "domain", "unterminated"],
    ["%(ir)", "domain", "must be followed"],
    ["foo%", "domain", "must be followed"],
    ["%{c}", "domain", "only in explanations"],
    ["%{r}", "domain", "only in explanations"],
    ["%{t}", "domain", "only in explanations"],
    ["a b", "domain", "invalid character"],
    ["caf\u00e9", "explanation", "invalid character"],
    ["\u00ef\u00bb\u00bfExplanation", "explanation", "invalid character"],
  ])("%j in %s: %s", (text, place, reason) => {
    const parsed = parseMacroString(text, place);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.reason).toContain(reason);
  });

  test.each<[string, MacroPlace]>([
    ["%{c}%{r}%{t}", "explanation"],
    ["%{c}", "modifier"],
    ["a b  c", "explanation"],
    ["", "modifier"],
  ])("%j is valid in %s", (text, place) => {
    expect(parseMacroString(text, place).ok).toBe(true);
  });

  test("domain-end bookkeeping", () => {
    const a = parseMacroString("%{d}.example.com", "domain");
    const b = parseMacroString("foo.%{d}", "domain");
    const c = parseMacroString("macro%%percent%_x.%-", "domain");
    expect(a.ok && [a.value.trailingLiteral, a.value.endsWithMacro]).toEqual([".example.com", false]);
    expect(b.ok && [b.value.trailingLiteral, b.value.endsWithMacro]).toEqual(["", true]);
    expect(c.ok && c.value.endsWithMacro).toBe(true);
    const p = parseMacroString("%{p}.x.example.com", "domain");
    expect(p.ok && p.value.usesP).toBe(true);
  });
});
