import { createHash } from "node:crypto";
import { associationData, matchCertificate } from "./match";
import { matchName, referenceNames } from "./names";
import { makeDanePki, type DanePki } from "./testing/pki";
import { classifyTlsa, type MatchingType, type Selector, type TlsaRecord, type UsableTlsa } from "./tlsa";
import { verifyPeer } from "./verify";

let pki: DanePki;
beforeAll(() => {
  pki = makeDanePki();
}, 60_000);
afterAll(() => pki.remove());

const der = (name: string): Buffer => pki.cert(name).der;
const usable = (...rs: TlsaRecord[]): UsableTlsa[] => classifyTlsa(rs).usable;
/** The record of `usage selector mtype` for the named certificate. */
const tlsa = (usage: 2 | 3, selector: Selector, matchingType: MatchingType, name: string): TlsaRecord => ({
  usage,
  selector,
  matchingType,
  data: associationData(pki.cert(name).x509, selector, matchingType),
});
const NOW = new Date();
const REFS = referenceNames("mx.example.test", "example.test");

describe("associationData", () => {
  it("Cert/SPKI × Full/SHA-256/SHA-512 agree with openssl's inputs", () => {
    const c = pki.cert("leaf").x509;
    const spki = c.publicKey.export({ type: "spki", format: "der" });
    expect(associationData(c, 0, 0)).toEqual(c.raw);
    expect(associationData(c, 1, 0)).toEqual(spki);
    expect(associationData(c, 0, 1)).toEqual(createHash("sha256").update(c.raw).digest());
    expect(associationData(c, 1, 1)).toEqual(createHash("sha256").update(spki).digest());
    expect(associationData(c, 0, 2)).toEqual(createHash("sha512").update(c.raw).digest());
    expect(associationData(c, 1, 2)).toEqual(createHash("sha512").update(spki).digest());
  });
});

describe("every usage × selector × matching type (as tls_dane.sh does)", () => {
  const combos: Array<[2 | 3, Selector, MatchingType]> = [];
  for (const u of [2, 3] as const) for (const s of [0, 1] as const) for (const m of [0, 1, 2] as const) combos.push([u, s, m]);
  it.each(combos)("%i %i %i: matches its own cert, not another", (u, s, m) => {
    const own = tlsa(u, s, m, u === 3 ? "leaf" : "ca");
    const chain = [der("leaf"), der("ca")];
    const ok = verifyPeer({ chain, records: usable(own), referenceNames: REFS, now: NOW });
    expect(ok).toMatchObject({ ok: true, usage: u, depth: u === 3 ? 0 : 1 });
    const foreign = tlsa(u, s, m, u === 3 ? "other" : "ca2");
    const bad = verifyPeer({ chain, records: usable(foreign), referenceNames: REFS, now: NOW });
    expect(bad.ok).toBe(false);
    // One flipped bit in the data never matches.
    const flipped = { ...own, data: Buffer.from(own.data) };
    (flipped.data as Buffer)[0] = ((flipped.data as Buffer)[0] ?? 0) ^ 1;
    expect(matchCertificate(pki.cert(u === 3 ? "leaf" : "ca").x509, usable(flipped))).toBeNull();
  });
});

describe("verifyPeer", () => {
  type Case = { name: string; chain: string[]; records: Array<[2 | 3, Selector, MatchingType, string]>; refs?: string[]; now?: Date; want: true | RegExp; usage?: number; depth?: number };
  const cases: Case[] = [
    { name: "DANE-EE matches a CA-issued leaf", chain: ["leaf", "ca"], records: [[3, 1, 1, "leaf"]], want: true, usage: 3, depth: 0 },
    { name: "DANE-EE ignores expiry (self-signed, 2020-2021)", chain: ["ss-expired"], records: [[3, 1, 1, "ss-expired"]], want: true, usage: 3 },
    { name: "DANE-EE ignores names", chain: ["ss-wrongname"], records: [[3, 1, 1, "ss-wrongname"]], want: true, usage: 3 },
    { name: "DANE-EE ignores the chain (leaf alone, issuer unknown)", chain: ["leaf-inter"], records: [[3, 0, 1, "leaf-inter"]], want: true, usage: 3 },
    { name: "DANE-EE does not match an issuer cert", chain: ["leaf", "ca"], records: [[3, 1, 1, "ca"]], want: /no DANE-EE TLSA record matches/ },
    { name: "DANE-TA with the CA sent", chain: ["leaf", "ca"], records: [[2, 1, 1, "ca"]], want: true, usage: 2, depth: 1 },
    { name: "DANE-TA, chain sent out of order", chain: ["leaf-inter", "ca", "inter"], records: [[2, 0, 2, "ca"]], want: true, usage: 2, depth: 2 },
    { name: "DANE-TA at the intermediate", chain: ["leaf-inter", "inter", "ca"], records: [[2, 1, 1, "inter"]], want: true, usage: 2, depth: 1 },
    { name: "DANE-TA, TA not sent", chain: ["leaf"], records: [[2, 1, 1, "ca"]], want: /no DANE-TA TLSA record matches/ },
    { name: "DANE-TA, wrong name", chain: ["wrongname", "ca"], records: [[2, 1, 1, "ca"]], want: /matches none of the names mx.example.test, example.test/ },
    { name: "DANE-TA, wildcard *.example.test covers mx.example.test", chain: ["wild", "ca"], records: [[2, 1, 1, "ca"]], want: true, usage: 2 },
    { name: "DANE-TA, wildcard does not cover a deeper name", chain: ["wild", "ca"], records: [[2, 1, 1, "ca"]], refs: ["a.mx.example.test"], want: /matches none/ },
    { name: "DANE-TA, wildcard does not cover the parent", chain: ["wild", "ca"], records: [[2, 1, 1, "ca"]], refs: ["example.test"], want: /matches none/ },
    { name: "DANE-TA, CN used when there is no DNS SAN", chain: ["cn-only", "ca"], records: [[2, 1, 1, "ca"]], want: true, usage: 2 },
    { name: "DANE-TA, next-hop domain as reference name", chain: ["leaf", "ca"], records: [[2, 1, 1, "ca"]], refs: ["other.test", "MX.Example.Test."], want: true },
    { name: "DANE-TA, expired leaf", chain: ["leaf-expired", "ca"], records: [[2, 1, 1, "ca"]], want: /certificate 0 of the chain is not valid now/ },
    { name: "DANE-TA, leaf from another CA", chain: ["other", "ca"], records: [[2, 1, 1, "ca"]], want: /does not chain to it/ },
    // OpenSSL's check_issued already refuses an issuer without keyCertSign; the CA flag check is the second line.
    { name: "DANE-TA, issuer is no CA", chain: ["notca-issued", "leaf", "ca"], records: [[2, 1, 1, "leaf"]], want: /does not chain to it|not a CA certificate/ },
    { name: "DANE-TA self-signed leaf matched as TA is not enough", chain: ["ss"], records: [[2, 1, 1, "ss"]], want: /no DANE-TA TLSA record matches/ },
    { name: "mixed RRset: DANE-TA fails, DANE-EE matches", chain: ["wrongname", "ca"], records: [[2, 1, 1, "ca"], [3, 1, 2, "wrongname"]], want: true, usage: 3 },
    { name: "mixed RRset, nothing matches", chain: ["other", "ca2"], records: [[2, 1, 1, "ca"], [3, 1, 1, "leaf"]], want: /no TLSA record matches/ },
  ];
  it.each(cases)("$name", (c) => {
    const records = usable(...c.records.map(([u, s, m, n]) => tlsa(u, s, m, n)));
    const v = verifyPeer({ chain: c.chain.map(der), records, referenceNames: c.refs ?? REFS, now: c.now ?? NOW });
    if (c.want === true) {
      expect(v).toMatchObject({ ok: true });
      if (c.usage !== undefined) expect(v).toMatchObject({ usage: c.usage });
      if (c.depth !== undefined) expect(v).toMatchObject({ depth: c.depth });
    } else {
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.reason).toMatch(c.want);
    }
  });

  it("refuses an empty chain and garbage", () => {
    const records = usable(tlsa(3, 1, 1, "leaf"));
    expect(verifyPeer({ chain: [], records, referenceNames: REFS, now: NOW })).toEqual({ ok: false, reason: "the server sent no certificate" });
    expect(verifyPeer({ chain: [Buffer.from("junk")], records, referenceNames: REFS, now: NOW })).toEqual({ ok: false, reason: "certificate 0 does not parse" });
  });
});

describe("names", () => {
  it("referenceNames normalises and de-duplicates", () => {
    expect(referenceNames("MX.Example.TEST.", undefined, "mx.example.test", "", "example.test")).toEqual(["mx.example.test", "example.test"]);
  });
  it("a reference name with a * never matches", () => {
    expect(matchName(pki.cert("wild").x509, ["*.example.test"])).toBeNull();
    expect(matchName(pki.cert("wild").x509, ["x.example.test"])).toBe("x.example.test");
  });
});
