import { canonicalIp, parseCidr } from "./ip";
import { canonicalDomain, type ItemBody, ListKind, parseItem, type ParseOptions } from "./items";

/** The item without its text, regexes as their source, for comparing. */
function shape(text: string, kind: ListKind, opts?: ParseOptions): unknown {
  const p = parseItem(text, kind, opts);
  if ("error" in p) return { error: p.error };
  const { text: _t, ...rest } = p;
  return rest.kind === "regex" ? { ...rest, regex: rest.regex.source, flags: rest.regex.flags } : rest;
}

describe("parseItem: host lists", () => {
  const cases: { text: string; want: ItemBody & { negated?: boolean } }[] = [
    { text: "*", want: { kind: "any" } },
    { text: "192.0.2.1", want: { kind: "cidr", cidr: { family: 4, address: "192.0.2.1", prefix: 32 } } },
    { text: "10.0.0.0/8", want: { kind: "cidr", cidr: { family: 4, address: "10.0.0.0", prefix: 8 } } },
    { text: "0.0.0.0/0", want: { kind: "cidr", cidr: { family: 4, address: "0.0.0.0", prefix: 0 } } },
    { text: "2001:DB8::/32", want: { kind: "cidr", cidr: { family: 6, address: "2001:db8::", prefix: 32 } } },
    { text: "::1", want: { kind: "cidr", cidr: { family: 6, address: "::1", prefix: 128 } } },
    { text: "::ffff:192.0.2.1", want: { kind: "cidr", cidr: { family: 4, address: "192.0.2.1", prefix: 32 } } },
    { text: "::ffff:10.0.0.0/104", want: { kind: "cidr", cidr: { family: 4, address: "10.0.0.0", prefix: 8 } } },
    { text: "! 10.0.0.0/8", want: { kind: "cidr", negated: true, cidr: { family: 4, address: "10.0.0.0", prefix: 8 } } },
    { text: "!*", want: { kind: "any", negated: true } },
    { text: "redis;SMEMBERS relay_from_ips", want: { kind: "lookup", source: "redis", command: "SMEMBERS", args: [["relay_from_ips"]] } },
    { text: "redis:smembers relay_from_ips", want: { kind: "lookup", source: "redis", command: "SMEMBERS", args: [["relay_from_ips"]] } },
    { text: "${lookup redis{SMEMBERS relay_from_ips}}", want: { kind: "lookup", source: "redis", command: "SMEMBERS", args: [["relay_from_ips"]] } },
    { text: "redis;SISMEMBER relay_ips $host", want: { kind: "lookup", source: "redis", command: "SISMEMBER", args: [["relay_ips"], [null]] } },
    { text: "redis;SISMEMBER relay_ips ${item}", want: { kind: "lookup", source: "redis", command: "SISMEMBER", args: [["relay_ips"], [null]] } },
    { text: "!redis;GET block:$sender_host_address", want: { kind: "lookup", negated: true, source: "redis", command: "GET", args: [["block:", null]] } },
  ];
  it.each(cases)("$text", ({ text, want }) => {
    expect(shape(text, ListKind.Host)).toEqual({ negated: false, ...want });
  });

  const errors: { text: string; want: RegExp; opts?: ParseOptions }[] = [
    { text: "10.0.0.0/33", want: /prefix length must be 0-32/ },
    { text: "2001:db8::/129", want: /prefix length must be 0-128/ },
    { text: "10.0.0.0/", want: /prefix length/ },
    { text: "10.0.0.0/8/8", want: /prefix length/ },
    { text: "10.0.0.256", want: /not an IP address or CIDR/ },
    { text: "fe80::1%eth0", want: /zone indexes/ },
    { text: "::ffff:10.0.0.0/64", want: /at least 96/ },
    { text: "db8:/32", want: /IPv6 in a ':'-separated string: start the list with "<; "/ },
    { text: "2001", want: /IPv6 in a ':'-separated string/ },
    { text: "mail.example.com", want: /host names are not supported in host lists/ },
    { text: "*.example.com", want: /host names are not supported/ },
    { text: "@", want: /@ is not supported in host lists/ },
    { text: "@[]", want: /not supported in host lists/ },
    { text: "!", want: /nothing after "!"/ },
    { text: "SMEMBERS relay_from_ips", want: /written redis;\.\.\. or redis::/ },
    { text: "lsearch;/etc/relay", want: /lookup type lsearch is not supported \(only redis\)/ },
    { text: "redis;", want: /empty Redis query/ },
    { text: "redis;DEL relay_from_ips", want: /unsupported Redis command DEL/ },
    { text: "redis;FLUSHALL", want: /unsupported Redis command FLUSHALL/ },
    { text: "redis;SMEMBERS", want: /SMEMBERS takes 1 argument\(s\): SMEMBERS <key>/ },
    { text: "redis;SMEMBERS a b", want: /takes 1 argument/ },
    { text: "redis;SMEMBERS relay:$host", want: /takes a fixed key/ },
    { text: "redis;SISMEMBER relay_ips 192.0.2.1", want: /needs the tested value among its arguments/ },
    { text: "redis;SISMEMBER relay_ips $domain", want: /unknown variable \$domain in a host list \(use \$item or \$host\)/ },
    { text: "redis;GET a$", want: /a lone "\$"/ },
    { text: "redis;SMEMBERS relay_from_ips", want: /lookups are not allowed in this list/, opts: { lookups: false } },
    { text: "!10.0.0.1", want: /negation is not allowed in a lookup answer/, opts: { member: true } },
    { text: "redis;SMEMBERS x", want: /lookup items are not allowed in a lookup answer/, opts: { member: true } },
    { text: "*", want: /\* is not allowed in a lookup answer/, opts: { member: true } },
  ];
  it.each(errors)("refuses $text", ({ text, want, opts }) => {
    const p = parseItem(text, ListKind.Host, opts);
    expect("error" in p && p.error).toMatch(want);
  });
});

describe("parseItem: domain lists", () => {
  const cases: { text: string; want: unknown }[] = [
    { text: "Example.COM", want: { kind: "domain", domain: "example.com" } },
    { text: "example.com.", want: { kind: "domain", domain: "example.com" } },
    { text: "localhost", want: { kind: "domain", domain: "localhost" } },
    { text: "_dmarc.example.com", want: { kind: "domain", domain: "_dmarc.example.com" } },
    { text: "bücher.example", want: { kind: "domain", domain: "bücher.example" } },
    { text: "*", want: { kind: "any" } },
    { text: "*.Example.com", want: { kind: "suffix", suffix: ".example.com" } },
    { text: "*example.com", want: { kind: "suffix", suffix: "example.com" } },
    { text: "@", want: { kind: "primary_hostname" } },
    { text: "!@", want: { kind: "primary_hostname", negated: true } },
    { text: "^mx\\d+\\.example\\.com$", want: { kind: "regex", regex: "^mx\\d+\\.example\\.com$", flags: "i" } },
    { text: "^(\\w+\\.)*example\\.org$", want: { kind: "regex", regex: "^(\\w+\\.)*example\\.org$", flags: "i" } },
    { text: "redis;HGET $domain domain", want: { kind: "lookup", source: "redis", command: "HGET", args: [[null], ["domain"]] } },
    { text: "${lookup redis {HGET $domain domain}}", want: { kind: "lookup", source: "redis", command: "HGET", args: [[null], ["domain"]] } },
    { text: "redis:SISMEMBER postern:local_domains $item", want: { kind: "lookup", source: "redis", command: "SISMEMBER", args: [["postern:local_domains"], [null]] } },
    { text: "redis;HGET domain:${domain}:cfg $item", want: { kind: "lookup", source: "redis", command: "HGET", args: [["domain:", null, ":cfg"], [null]] } },
    { text: "redis;SMEMBERS local_domains", want: { kind: "lookup", source: "redis", command: "SMEMBERS", args: [["local_domains"]] } },
  ];
  it.each(cases)("$text", ({ text, want }) => {
    expect(shape(text, ListKind.Domain)).toEqual({ negated: false, ...(want as object) });
  });

  const errors: { text: string; want: RegExp; opts?: ParseOptions }[] = [
    { text: "^(a+)+$", want: /nested quantifiers/ },
    { text: "^(a{2,})*x", want: /nested quantifiers/ },
    { text: "^[unclosed", want: /invalid regular expression/ },
    { text: `^${"a".repeat(1100)}`, want: /longer than 1024/ },
    { text: "@[]", want: /@\[\] is not supported \(only @/ },
    { text: "@mx_any", want: /not supported/ },
    { text: "+local_domains", want: /named lists/ },
    { text: "[192.0.2.1]", want: /domain literals/ },
    { text: "exa mple.com", want: /not a domain name/ },
    { text: "a..b", want: /not a domain name/ },
    { text: `${"a".repeat(64)}.com`, want: /not a domain name/ },
    { text: "*.", want: /expected \*\.domain or \*suffix/ },
    { text: "HGET $domain domain", want: /written redis;/ },
    { text: "redis;HGET $host domain", want: /unknown variable \$host in a domain list \(use \$item or \$domain\)/ },
    { text: "redis;HGET example.com domain", want: /needs the tested value/ },
    { text: "^x", want: /regular expressions are not allowed in a lookup answer/, opts: { member: true } },
    { text: "@", want: /@ is not allowed in a lookup answer/, opts: { member: true } },
  ];
  it.each(errors)("refuses $text", ({ text, want, opts }) => {
    const p = parseItem(text, ListKind.Domain, opts);
    expect("error" in p && p.error).toMatch(want);
  });

  it("keeps the text as written", () => {
    expect(parseItem(" ! Example.com".trim(), ListKind.Domain)).toMatchObject({ text: "! Example.com", negated: true, domain: "example.com" });
  });
});

describe("addresses and domains", () => {
  it.each([
    ["192.0.2.1", "192.0.2.1"],
    ["::FFFF:192.0.2.1", "192.0.2.1"],
    ["::ffff:c000:201", "192.0.2.1"],
    ["0:0:0:0:0:ffff:10.1.2.3", "10.1.2.3"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["64:ff9b::192.0.2.1", "64:ff9b::c000:201"],
    ["example.com", null],
    ["", null],
  ])("canonicalIp(%j) is %j", (ip, want) => {
    expect(canonicalIp(ip)).toBe(want);
  });

  it.each([
    ["Example.COM.", "example.com"],
    ["", null],
    [".", null],
    ["a..b", null],
    [`${"a.".repeat(127)}ab`, null],
  ])("canonicalDomain(%j) is %j", (d, want) => {
    expect(canonicalDomain(d)).toBe(want);
  });

  it("parseCidr keeps host bits out of the canonical address only through the matcher", () => {
    expect(parseCidr("10.1.2.3/8")).toEqual({ family: 4, address: "10.1.2.3", prefix: 8 });
  });
});
