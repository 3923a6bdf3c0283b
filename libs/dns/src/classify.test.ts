import * as packet from "dns-packet";
import { classify, negativeTtl } from "./classify";
import type { Message } from "./message";
import type { Query } from "./types";

const SOA: packet.Answer = {
  name: "example.com",
  type: "SOA",
  ttl: 3600,
  data: { mname: "ns.example.com", rname: "hostmaster.example.com", serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 300 },
};
const a = (name: string, ip: string, ttl = 600): packet.Answer => ({ name, type: "A", ttl, data: ip });
const cname = (name: string, target: string, ttl = 600): packet.Answer => ({ name, type: "CNAME", ttl, data: target });

function message(opts: { rcode?: number; ad?: boolean; aa?: boolean; answers?: packet.Answer[]; authorities?: packet.Answer[]; extendedRcode?: number }): Message {
  const flags = (opts.rcode ?? 0) | (opts.ad === true ? packet.AUTHENTIC_DATA : 0) | (opts.aa === true ? packet.AUTHORITATIVE_ANSWER : 0);
  const additionals: packet.Answer[] =
    opts.extendedRcode === undefined ? [] : [{ type: "OPT", name: ".", udpPayloadSize: 1232, extendedRcode: opts.extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
  const bytes = packet.encode({ type: "response", id: 1, flags, questions: [{ name: "www.example.com", type: "A" }], answers: opts.answers ?? [], authorities: opts.authorities ?? [], additionals });
  return packet.decode(bytes);
}

const q: Query = { name: "www.example.com", type: "A" };

describe("classify", () => {
  const cases: { name: string; msg: Message; query?: Query; want: object; wantIps?: string[] }[] = [
    { name: "answer", msg: message({ answers: [a("www.example.com", "192.0.2.1", 600), a("www.example.com", "192.0.2.2", 200)] }), want: { kind: "answer", ttl: 200, authenticated: false }, wantIps: ["192.0.2.1", "192.0.2.2"] },
    { name: "answer with AD", msg: message({ ad: true, answers: [a("www.example.com", "192.0.2.1")] }), want: { kind: "answer", authenticated: true } },
    { name: "owner in another case", msg: message({ answers: [a("WWW.Example.COM", "192.0.2.1")] }), want: { kind: "answer" }, wantIps: ["192.0.2.1"] },
    { name: "records of other owners are ignored", msg: message({ answers: [a("evil.example.net", "203.0.113.1"), a("www.example.com", "192.0.2.1")] }), want: { kind: "answer" }, wantIps: ["192.0.2.1"] },
    { name: "only other owners: nodata", msg: message({ answers: [a("evil.example.net", "203.0.113.1")], authorities: [SOA] }), want: { kind: "nodata", ttl: 300 } },
    {
      name: "CNAME chain, TTL is the minimum along it",
      msg: message({ answers: [cname("www.example.com", "b.example.com", 100), cname("b.example.com", "c.example.net", 900), a("c.example.net", "192.0.2.3", 500)] }),
      want: { kind: "answer", ttl: 100 },
      wantIps: ["192.0.2.3"],
    },
    { name: "CNAME chain out of order", msg: message({ answers: [a("c.example.net", "192.0.2.3"), cname("b.example.com", "c.example.net"), cname("www.example.com", "b.example.com")] }), want: { kind: "answer" }, wantIps: ["192.0.2.3"] },
    { name: "A record at a CNAME owner is not followed past", msg: message({ answers: [cname("www.example.com", "b.example.com"), a("www.example.com", "203.0.113.9"), a("b.example.com", "192.0.2.4")] }), want: { kind: "answer" }, wantIps: ["203.0.113.9"] },
    { name: "CNAME to nowhere: nodata", msg: message({ answers: [cname("www.example.com", "b.example.com", 100)], authorities: [SOA] }), want: { kind: "nodata", ttl: 100 } },
    { name: "CNAME query returns the CNAME", query: { name: "www.example.com", type: "CNAME" }, msg: message({ answers: [cname("www.example.com", "b.example.com")] }), want: { kind: "answer" } },
    { name: "CNAME loop", msg: message({ answers: [cname("www.example.com", "b.example.com"), cname("b.example.com", "WWW.example.com")] }), want: { kind: "error", code: "POSTERN_DNS_CNAME_CHAIN" } },
    {
      name: "CNAME chain too long",
      msg: message({ answers: Array.from({ length: 9 }, (_, i) => cname(i === 0 ? "www.example.com" : `c${i}.example.com`, `c${i + 1}.example.com`)).concat(a("c9.example.com", "192.0.2.9")) }),
      want: { kind: "error", code: "POSTERN_DNS_CNAME_CHAIN" },
    },
    {
      name: "CNAME chain of exactly 8",
      msg: message({ answers: Array.from({ length: 8 }, (_, i) => cname(i === 0 ? "www.example.com" : `c${i}.example.com`, `c${i + 1}.example.com`)).concat(a("c8.example.com", "192.0.2.8")) }),
      want: { kind: "answer" },
      wantIps: ["192.0.2.8"],
    },
    { name: "NXDOMAIN with SOA", msg: message({ rcode: 3, authorities: [SOA] }), want: { kind: "nxdomain", ttl: 300, authenticated: false } },
    { name: "NXDOMAIN with AD", msg: message({ rcode: 3, ad: true, authorities: [SOA] }), want: { kind: "nxdomain", authenticated: true } },
    { name: "NXDOMAIN without SOA: not cacheable", msg: message({ rcode: 3 }), want: { kind: "nxdomain", ttl: 0 } },
    { name: "NODATA with SOA", msg: message({ authorities: [SOA] }), want: { kind: "nodata", ttl: 300 } },
    { name: "NODATA, SOA TTL below MINIMUM", msg: message({ authorities: [{ ...SOA, ttl: 30 }] }), want: { kind: "nodata", ttl: 30 } },
    { name: "NODATA without anything", msg: message({}), want: { kind: "nodata", ttl: 0 } },
    { name: "referral", msg: message({ authorities: [{ name: "example.com", type: "NS", ttl: 60, data: "ns.example.com" }] }), want: { kind: "error", code: "POSTERN_DNS_BAD_RESPONSE" } },
    { name: "authoritative NS in authority is nodata", msg: message({ aa: true, authorities: [{ name: "example.com", type: "NS", ttl: 60, data: "ns.example.com" }] }), want: { kind: "nodata" } },
    { name: "TTL with the top bit set counts as 0", msg: message({ answers: [a("www.example.com", "192.0.2.1", 0x80000000)] }), want: { kind: "answer", ttl: 0 } },
    { name: "SERVFAIL", msg: message({ rcode: 2 }), want: { kind: "servfail" } },
    { name: "REFUSED", msg: message({ rcode: 5 }), want: { kind: "refused" } },
    { name: "FORMERR", msg: message({ rcode: 1 }), want: { kind: "error", code: "POSTERN_DNS_BAD_RESPONSE", reason: "rcode FORMERR" } },
    { name: "NOTIMP", msg: message({ rcode: 4 }), want: { kind: "error", code: "POSTERN_DNS_BAD_RESPONSE" } },
    { name: "BADVERS (extended rcode)", msg: message({ extendedRcode: 1 }), want: { kind: "error", reason: "extended rcode 16" } },
  ];
  it.each(cases)("$name", ({ msg, query, want, wantIps }) => {
    const got = classify(query ?? q, msg);
    expect(got).toMatchObject(want);
    if (wantIps !== undefined && got.kind === "answer") expect(got.records.map((r) => r.data)).toEqual(wantIps);
  });

  it("honours a smaller CNAME bound", () => {
    const msg = message({ answers: [cname("www.example.com", "b.example.com"), cname("b.example.com", "c.example.com"), a("c.example.com", "192.0.2.1")] });
    expect(classify(q, msg, 1)).toMatchObject({ kind: "error", code: "POSTERN_DNS_CNAME_CHAIN" });
    expect(classify(q, msg, 2)).toMatchObject({ kind: "answer" });
  });

  it("negativeTtl ignores SOA records outside the authority section", () => {
    expect(negativeTtl(message({ answers: [SOA] }))).toBe(0);
  });
});
