import { DaneFailReason } from "./errors";
import { decideDane, defaultRequestOcsp, dnssecStatusOf, type DaneInput, type TlsaLookup } from "./policy";
import type { TlsaRecord } from "./tlsa";

const ee: TlsaRecord = { usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 1) };
const ta: TlsaRecord = { usage: 2, selector: 1, matchingType: 1, data: Buffer.alloc(32, 2) };
const pkix: TlsaRecord = { usage: 1, selector: 1, matchingType: 1, data: Buffer.alloc(32, 3) };
const secure = (...records: TlsaRecord[]): TlsaLookup => ({ kind: "records", secure: true, records });

type Want = "dane" | "require-tls" | "opportunistic" | DaneFailReason;
const cases: Array<{ name: string; input: Partial<DaneInput>; want: Want; bits?: number }> = [
  { name: "DANE off: no lookups matter", input: { mode: "off", host: "bogus", tlsa: { kind: "bogus" } }, want: "opportunistic" },
  { name: "try, secure DANE-EE", input: { tlsa: secure(ee) }, want: "dane", bits: 8 },
  { name: "try, secure DANE-TA", input: { tlsa: secure(ta) }, want: "dane", bits: 4 },
  { name: "try, both usages", input: { tlsa: secure(ta, ee, pkix) }, want: "dane", bits: 12 },
  { name: "require, secure DANE-EE", input: { mode: "require", tlsa: secure(ee) }, want: "dane", bits: 8 },
  { name: "try, only PKIX records: TLS mandatory, unauthenticated", input: { tlsa: secure(pkix) }, want: "require-tls", bits: 0 },
  { name: "require, only PKIX records", input: { mode: "require", tlsa: secure(pkix) }, want: DaneFailReason.daneRequired },
  { name: "MX bogus", input: { mx: "bogus" }, want: DaneFailReason.dnssecInvalid },
  { name: "host address bogus", input: { host: "bogus" }, want: DaneFailReason.dnssecInvalid },
  { name: "TLSA bogus (SERVFAIL) never falls back", input: { tlsa: { kind: "bogus" } }, want: DaneFailReason.dnssecInvalid },
  { name: "TLSA timeout defers", input: { tlsa: { kind: "failed", detail: "timeout" } }, want: DaneFailReason.tlsaLookupFailed },
  { name: "try, insecure MX", input: { mx: "insecure", tlsa: { kind: "skipped" } }, want: "opportunistic" },
  { name: "require, insecure MX", input: { mode: "require", mx: "insecure", tlsa: { kind: "skipped" } }, want: DaneFailReason.daneRequired },
  { name: "try, insecure host", input: { host: "insecure", tlsa: { kind: "skipped" } }, want: "opportunistic" },
  { name: "require, insecure host (hosts_require_dane without DNSSEC)", input: { mode: "require", host: "insecure", tlsa: { kind: "skipped" } }, want: DaneFailReason.daneRequired },
  { name: "try, secure zone without TLSA", input: { tlsa: { kind: "none", secure: true } }, want: "opportunistic" },
  { name: "require, secure zone without TLSA", input: { mode: "require", tlsa: { kind: "none", secure: true } }, want: DaneFailReason.daneRequired },
  { name: "try, insecure TLSA records are ignored", input: { tlsa: { kind: "records", secure: false, records: [ee] } }, want: "opportunistic" },
  { name: "require, insecure TLSA records", input: { mode: "require", tlsa: { kind: "records", secure: false, records: [ee] } }, want: DaneFailReason.daneRequired },
  { name: "secure DANE-EE, STARTTLS offered", input: { tlsa: secure(ee), starttlsOffered: true }, want: "dane", bits: 8 },
  { name: "secure DANE-EE, no STARTTLS", input: { tlsa: secure(ee), starttlsOffered: false }, want: DaneFailReason.starttlsNotSupported },
  { name: "only PKIX, no STARTTLS", input: { tlsa: secure(pkix), starttlsOffered: false }, want: DaneFailReason.starttlsNotSupported },
  { name: "no TLSA, no STARTTLS: cleartext allowed", input: { tlsa: { kind: "none", secure: true }, starttlsOffered: false }, want: "opportunistic" },
];

describe("decideDane", () => {
  it.each(cases)("$name → $want", ({ input, want, bits }) => {
    const d = decideDane({ mode: "try", mx: "secure", host: "secure", tlsa: { kind: "skipped" }, ...input });
    if (d.kind === "defer") {
      expect(d.reason).toBe(want);
      expect(d.message.length).toBeGreaterThan(0);
    } else {
      expect(d.kind).toBe(want);
    }
    if (bits !== undefined && (d.kind === "dane" || d.kind === "require-tls")) expect(d.usageBits).toBe(bits);
  });
});

describe("dnssecStatusOf", () => {
  it.each([
    [{ kind: "answer", authenticated: true }, "secure"],
    [{ kind: "answer", authenticated: false }, "insecure"],
    [{ kind: "nxdomain", authenticated: true }, "secure"],
    [{ kind: "nodata", authenticated: false }, "insecure"],
    [{ kind: "servfail" }, "bogus"],
    [{ kind: "timeout" }, "failed"],
    [{ kind: "refused" }, "failed"],
  ])("%p → %s", (outcome, want) => {
    expect(dnssecStatusOf(outcome)).toBe(want);
  });
});

describe("defaultRequestOcsp (the seed's hosts_request_ocsp under DANE)", () => {
  it.each([
    [0, true],
    [4, true],
    [8, false],
    [12, false],
  ])("usage bits %i → %p", (bits, want) => {
    expect(defaultRequestOcsp(bits)).toBe(want);
  });
});
