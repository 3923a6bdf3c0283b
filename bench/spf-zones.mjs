// The zone mix of `pnpm bench:spf`: record shapes seen on real senders
// (provider include chains, mx, a, redirect, macros with exists, exp=, ptr,
// IPv6, a missing record, a broken one), in the openspf zonedata format that
// @postern/libspf's createZoneDns reads. Both libraries get the same zone.

export const zone = {
  // a big provider: two levels of include, many netblocks
  "bigmail.test": [{ TXT: "v=spf1 include:_spf.bigmail.test ~all" }],
  "_spf.bigmail.test": [{ TXT: "v=spf1 include:_netblocks.bigmail.test include:_netblocks2.bigmail.test include:_netblocks3.bigmail.test ~all" }],
  "_netblocks.bigmail.test": [{ TXT: "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 ~all" }],
  "_netblocks2.bigmail.test": [{ TXT: "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ip6:2607:f8b0:4000::/36 ip6:2800:3f0:4000::/36 ~all" }],
  "_netblocks3.bigmail.test": [{ TXT: ["v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 ip4:172.217.128.0/19 ", "ip4:172.253.56.0/21 ip4:173.194.0.0/16 ip4:209.85.128.0/17 ~all"] }],
  // a company that sends through the provider and its own mx
  "corp.test": [{ TXT: "v=spf1 mx a:out.corp.test include:bigmail.test -all" }, { MX: [10, "mx1.corp.test"] }, { MX: [20, "mx2.corp.test"] }],
  "mx1.corp.test": [{ A: "192.0.2.10" }, { AAAA: "2001:db8:10::1" }],
  "mx2.corp.test": [{ A: "192.0.2.11" }],
  "out.corp.test": [{ A: "192.0.2.20" }, { A: "192.0.2.21" }],
  // plain ip4 lists
  "shop.test": [{ TXT: "v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.128/25 -all" }],
  // fail with a macro explanation
  "strict.test": [{ TXT: "v=spf1 ip4:198.51.100.7 -all exp=why.strict.test" }],
  "why.strict.test": [{ TXT: "%{i} is not a mail server of %{d}; see https://strict.test/spf?s=%{S}" }],
  // softfail and neutral
  "soft.test": [{ TXT: "v=spf1 a ~all" }, { A: "198.51.100.50" }],
  "neutral.test": [{ TXT: "v=spf1 ?all" }],
  // redirect to a shared policy
  "brand1.test": [{ TXT: "v=spf1 redirect=_spf.shared.test" }],
  "_spf.shared.test": [{ TXT: "v=spf1 ip4:192.0.2.128/25 ip6:2001:db8:1::/48 -all" }],
  // macros: a per-address exists
  "macro.test": [{ TXT: "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all" }],
  "9.2.0.192.alice._spf.macro.test": [{ A: "127.0.0.2" }],
  // ptr (discouraged, still published)
  "legacy.test": [{ TXT: "v=spf1 ptr:legacy.test -all" }],
  "77.100.51.198.in-addr.arpa": [{ PTR: "mail.legacy.test" }],
  "mail.legacy.test": [{ A: "198.51.100.77" }],
  // no SPF record, only an address
  "nospf.test": [{ A: "192.0.2.99" }, { TXT: "google-site-verification=abc" }],
  // a syntax error
  "broken.test": [{ TXT: "v=spf1 ip4:192.0.2.300 -all" }],
  // a helo name
  "mta.relay.test": [{ TXT: "v=spf1 a -all" }, { A: "203.0.113.9" }],
};

// [ip, sender, helo, expected result]; each check picks the next case.
export const cases = [
  ["74.125.10.20", "a@bigmail.test", "mail-ot1.bigmail.test", "pass"],
  ["2607:f8b0:4000::1", "b@bigmail.test", "mail-ot2.bigmail.test", "pass"],
  ["173.194.1.1", "c@bigmail.test", "mail-ot3.bigmail.test", "pass"],
  ["203.0.113.66", "d@bigmail.test", "spammer.example", "softfail"],
  ["192.0.2.10", "e@corp.test", "mx1.corp.test", "pass"],
  ["192.0.2.21", "f@corp.test", "out.corp.test", "pass"],
  ["66.102.1.1", "g@corp.test", "mail.bigmail.test", "pass"],
  ["203.0.113.66", "h@corp.test", "spammer.example", "fail"],
  ["198.51.100.33", "i@shop.test", "shop.test", "pass"],
  ["203.0.113.200", "j@shop.test", "shop.test", "pass"],
  ["203.0.113.66", "k@strict.test", "spammer.example", "fail"],
  ["203.0.113.66", "l@soft.test", "spammer.example", "softfail"],
  ["203.0.113.66", "m@neutral.test", "spammer.example", "neutral"],
  ["192.0.2.200", "n@brand1.test", "out.brand1.test", "pass"],
  ["2001:db8:1::25", "o@brand1.test", "out.brand1.test", "pass"],
  ["192.0.2.9", "alice@macro.test", "m.macro.test", "pass"],
  ["192.0.2.8", "bob@macro.test", "m.macro.test", "fail"],
  ["198.51.100.77", "p@legacy.test", "mail.legacy.test", "pass"],
  ["203.0.113.66", "q@nospf.test", "spammer.example", "none"],
  ["203.0.113.66", "r@nxdomain.test", "spammer.example", "none"],
  ["203.0.113.66", "s@broken.test", "spammer.example", "permerror"],
  ["203.0.113.9", "", "mta.relay.test", "pass"],
];
