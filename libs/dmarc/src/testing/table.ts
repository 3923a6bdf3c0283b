/**
 * The DMARC table shared by verdict.test.ts (both modes) and the mailauth
 * differential test (RFC 9989 mode): one zone, cases with the wanted outcome per mode.
 */
import { type DmarcMode, type DmarcZone, type EximDmarcStatus } from "../index";

/** One zone for every case; names say what they test. */
export const zone: DmarcZone = {
  "_dmarc.example.com": { txt: ["v=DMARC1; p=reject; sp=quarantine; rua=mailto:agg@example.com; ruf=mailto:fail@example.com; fo=1"] },
  "example.com": { a: ["192.0.2.1"] },
  "mail.example.com": { a: ["192.0.2.2"] },
  "_dmarc.quarantine.test": { txt: ["v=DMARC1; p=quarantine"] },
  "_dmarc.none.test": { txt: ["v=DMARC1; p=none"] },
  "_dmarc.strict.test": { txt: ["v=DMARC1; p=reject; adkim=s; aspf=s"] },
  "sub.strict.test": { a: ["192.0.2.3"] },
  // pct: 7489 samples, 9989 ignores
  "_dmarc.pct.test": { txt: ["v=DMARC1; p=reject; pct=0"] },
  // t=y: 9989 applies one level less, 7489 ignores
  "_dmarc.testing.test": { txt: ["v=DMARC1; p=reject; t=y"] },
  // np: 9989 only
  "_dmarc.np.test": { txt: ["v=DMARC1; p=none; sp=quarantine; np=reject"] },
  "exists.np.test": { a: ["192.0.2.4"] },
  // PSL private domain: github.io is a public suffix in the PSL's private section
  "_dmarc.github.io": { txt: ["v=DMARC1; p=reject"] },
  "_dmarc.user.github.io": { txt: [] },
  "user.github.io": { a: ["192.0.2.5"] },
  // psd=y at a public suffix: a PSD policy for names below without their own record
  "_dmarc.psd": { txt: ["v=DMARC1; p=reject; psd=y"] },
  "org.psd": { a: ["192.0.2.6"] },
  // psd=n: the Organizational Domain is explicitly this name
  "_dmarc.corp.example.net": { txt: ["v=DMARC1; p=quarantine; psd=n"] },
  "_dmarc.example.net": { txt: ["v=DMARC1; p=none"] },
  "_dmarc.a.b.c.d.e.f.g.h.i.deep.test": { fail: "servfail" },
  "_dmarc.deep.test": { txt: ["v=DMARC1; p=reject"] },
  // 7 labels: where a walk from 11 labels lands; psd=n makes it the Organizational Domain
  "_dmarc.e.f.g.h.i.deep.test": { txt: ["v=DMARC1; p=quarantine; psd=n"] },
  // 9 labels: skipped by the jump to 7 (were it queried, its psd=n would win)
  "_dmarc.c.d.e.f.g.h.i.deep.test": { txt: ["v=DMARC1; p=none; psd=n"] },
  "_dmarc.tempfail.test": { fail: "timeout" },
  "_dmarc.two.test": { txt: ["v=DMARC1; p=reject", "v=DMARC1; p=none"] },
  "_dmarc.dup.test": { txt: ["v=DMARC1; p=reject; p=none"] },
  "_dmarc.nop.test": { txt: ["v=DMARC1; rua=mailto:a@nop.test"] },
  "_dmarc.nopnorua.test": { txt: ["v=DMARC1; p=bogus"] },
  "_dmarc.case.test": { txt: ["V = DMARC1 ; P=Reject"] },
};

export interface Case {
  name: string;
  from: string;
  spf?: [string, string];
  dkim?: [string, string][];
  random?: number;
  want: Record<DmarcMode, { status: EximDmarcStatus; used?: string; policy?: string; result?: string }>;
}

const both = (status: EximDmarcStatus, used?: string, policy?: string, result?: string): Case["want"] => {
  const w = { status, ...(used === undefined ? {} : { used }), ...(policy === undefined ? {} : { policy }), ...(result === undefined ? {} : { result }) };
  return { rfc7489: w, rfc9989: w };
};

export const cases: Case[] = [
  { name: "aligned DKIM pass", from: "A <a@example.com>", dkim: [["example.com", "pass"]], want: both("accept", "example.com", "reject", "pass") },
  { name: "aligned SPF pass", from: "a@example.com", spf: ["pass", "example.com"], want: both("accept", "example.com", "reject", "pass") },
  { name: "relaxed DKIM from a subdomain", from: "a@example.com", dkim: [["mail.example.com", "pass"]], want: both("accept") },
  { name: "DKIM fail does not count", from: "a@example.com", dkim: [["example.com", "fail"]], want: both("reject", "example.com", "reject", "fail") },
  { name: "SPF softfail does not count", from: "a@example.com", spf: ["softfail", "example.com"], want: both("reject") },
  { name: "unaligned pass", from: "a@example.com", dkim: [["other.test", "pass"]], spf: ["pass", "other.test"], want: both("reject") },
  { name: "subdomain gets sp", from: "a@mail.example.com", want: both("quarantine", "example.com", "quarantine") },
  { name: "quarantine", from: "a@quarantine.test", want: both("quarantine", "quarantine.test", "quarantine") },
  { name: "p=none failing", from: "a@none.test", want: both("none", "none.test", "none", "fail") },
  { name: "no record", from: "a@norecord.test", want: both("none", "norecord.test", "", "none") },
  { name: "strict DKIM alignment refuses a subdomain", from: "a@strict.test", dkim: [["sub.strict.test", "pass"]], want: both("reject") },
  { name: "strict SPF alignment refuses a parent", from: "a@sub.strict.test", spf: ["pass", "strict.test"], want: both("reject", "strict.test") },
  { name: "no From", from: "", want: both("nofrom", "", "") },
  {
    name: "two From domains: 9989 cannot validate (nofrom); 7489 checks both and applies the strictest failing policy",
    from: "a@example.com, b@none.test",
    want: { rfc7489: { status: "reject", used: "example.com" }, rfc9989: { status: "nofrom" } },
  },
  {
    name: "two From domains, one passing: 7489 still applies the failing one's policy",
    from: "a@example.com, b@quarantine.test",
    dkim: [["example.com", "pass"]],
    want: { rfc7489: { status: "quarantine", used: "quarantine.test" }, rfc9989: { status: "nofrom" } },
  },
  { name: "same domain twice is one author", from: "a@example.com, b@EXAMPLE.com.", dkim: [["example.com", "pass"]], want: both("accept") },
  { name: "DNS timeout", from: "a@tempfail.test", want: both("temperror", "tempfail.test", "") },
  { name: "two records: none", from: "a@two.test", want: both("none", "two.test", "") },
  { name: "duplicate tag: invalid record", from: "a@dup.test", want: both("none") },
  { name: "no p but rua: p=none", from: "a@nop.test", want: both("none", "nop.test", "none", "fail") },
  { name: "invalid p without rua: no processing", from: "a@nopnorua.test", want: both("none", "nopnorua.test", "", "none") },
  { name: "tag name case counts (strict tag-list): P is unknown", from: "a@case.test", want: both("none", "case.test", "", "none") },
  // --- where the modes differ ---
  {
    name: "pct=0 samples out under 7489; 9989 has no pct",
    from: "a@pct.test",
    random: 0.5,
    want: { rfc7489: { status: "quarantine", policy: "reject" }, rfc9989: { status: "reject", policy: "reject" } },
  },
  {
    name: "t=y lowers the policy under 9989; 7489 ignores t",
    from: "a@testing.test",
    want: { rfc7489: { status: "reject" }, rfc9989: { status: "quarantine", policy: "reject" } },
  },
  {
    name: "np for a non-existent subdomain (9989); 7489 uses sp",
    from: "a@ghost.np.test",
    want: { rfc7489: { status: "quarantine", used: "np.test", policy: "quarantine" }, rfc9989: { status: "reject", used: "np.test", policy: "reject" } },
  },
  {
    name: "np does not apply to an existing subdomain",
    from: "a@exists.np.test",
    want: both("quarantine", "np.test", "quarantine"),
  },
  {
    name: "PSL private domain: 7489 stops at user.github.io, 9989 walks to github.io",
    from: "a@user.github.io",
    want: { rfc7489: { status: "none", used: "user.github.io", policy: "" }, rfc9989: { status: "reject", used: "github.io", policy: "reject" } },
  },
  {
    name: "PSL private domain alignment: 7489 says siblings under github.io do not align, 9989 (org github.io) says they do",
    from: "a@user.github.io",
    dkim: [["other.github.io", "pass"]],
    want: { rfc7489: { status: "none" }, rfc9989: { status: "accept" } },
  },
  {
    name: "psd=y: 9989 applies the PSD's policy below it; 7489 finds nothing",
    from: "a@org.psd",
    want: { rfc7489: { status: "none", policy: "" }, rfc9989: { status: "reject", used: "psd", policy: "reject" } },
  },
  {
    name: "psd=n makes corp.example.net its own Organizational Domain: DKIM from example.net does not align under 9989",
    from: "a@x.corp.example.net",
    dkim: [["example.net", "pass"]],
    want: { rfc7489: { status: "accept", used: "example.net" }, rfc9989: { status: "quarantine", used: "corp.example.net" } },
  },
  {
    name: "a tree walk longer than 8 labels jumps to 7 labels: 9989 finds e.f.g.h.i.deep.test (psd=n), 7489 the PSL org deep.test",
    from: "a@x.b.c.d.e.f.g.h.i.deep.test",
    want: { rfc7489: { status: "reject", used: "deep.test" }, rfc9989: { status: "quarantine", used: "e.f.g.h.i.deep.test" } },
  },
];

