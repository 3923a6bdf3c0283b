import type { DnsRecord, Outcome, TlsaRecord } from "@postern/dns";
import { type DaneResolver, offHostDaneResolvers, TlsPolicy, type TlsPolicyConfig, tlsEventFields, tlsFailureFields, tlsLogPart, type TlsOutcome } from "./tls-policy";

/** A declarative zone that records its calls (answers by "name TYPE"; missing: secure NXDOMAIN). */
function zone(entries: Record<string, Outcome<DnsRecord> | Outcome<TlsaRecord>>): DaneResolver & { calls: string[] } {
  const calls: string[] = [];
  const get = (key: string): Outcome<never> => (entries[key] ?? { kind: "nxdomain", authenticated: true, ttl: 60 }) as Outcome<never>;
  return {
    calls,
    query: (name, type) => {
      calls.push(`${name} ${type}`);
      return Promise.resolve(get(`${name} ${type}`));
    },
    tlsa: (name) => {
      calls.push(`${name} TLSA`);
      return Promise.resolve(get(`${name} TLSA`));
    },
  };
}

const a = (name: string, ip: string, authenticated = true): Outcome<DnsRecord> => ({
  kind: "answer",
  authenticated,
  ttl: 60,
  records: [{ type: "A", name, ttl: 60, class: "IN", data: ip }],
});
const mx = (authenticated: boolean): Outcome<DnsRecord> => ({ kind: "answer", authenticated, ttl: 60, records: [] });
const tlsa = (...usages: number[]): Outcome<TlsaRecord> => ({
  kind: "answer",
  authenticated: true,
  ttl: 60,
  records: usages.map((usage) => ({ usage, selector: 1, matchingType: 1, data: Buffer.alloc(32, usage) })),
});

const HOST = { name: "mx.example.test", ip: "192.0.2.1", port: 25, domain: "example.test", viaMx: true };

async function plan(entries: Parameters<typeof zone>[0], config: TlsPolicyConfig = {}, host: Partial<typeof HOST> = {}) {
  const z = zone(entries);
  const p = await new TlsPolicy(z, config).plan({ ...HOST, ...host });
  return { p, calls: z.calls };
}

describe("TlsPolicy.plan", () => {
  it("secure MX and host with DANE-EE: dane, no OCSP request (seed rule), SNI = TLSA base", async () => {
    const { p, calls } = await plan({ "example.test MX": mx(true), "mx.example.test A": a("mx.example.test", "192.0.2.1"), "_25._tcp.mx.example.test TLSA": tlsa(3) });
    expect(calls).toEqual(["example.test MX", "mx.example.test A", "_25._tcp.mx.example.test TLSA"]);
    expect(p.decision.kind).toBe("dane");
    expect(p.tlsaUsage).toBe(8);
    expect(p.requestOcsp).toBe(false);
    expect(p.defer).toBeUndefined();
    const o = p.tlsOptions({ minVersion: "TLSv1.2" }) as Record<string, unknown>;
    expect(o).toMatchObject({ servername: "mx.example.test", rejectUnauthorized: false, minVersion: "TLSv1.2" });
    expect(o["requestOCSP"]).toBeUndefined();
    expect(p.afterEhlo(false)).toMatchObject({ event: "dane:fail", reason: "starttls-not-supported", errno: -38 });
    expect(p.afterEhlo(true)).toBeUndefined();
  });

  it("DANE-TA only: the staple is requested (usage bits 4)", async () => {
    const { p } = await plan({ "example.test MX": mx(true), "mx.example.test A": a("mx.example.test", "192.0.2.1"), "_25._tcp.mx.example.test TLSA": tlsa(2) });
    expect(p.tlsaUsage).toBe(4);
    expect(p.requestOcsp).toBe(true);
    expect((p.tlsOptions({}) as Record<string, unknown>)["requestOCSP"]).toBe(true);
  });

  it("insecure MX: no TLSA lookup, opportunistic", async () => {
    const { p, calls } = await plan({ "example.test MX": mx(false), "mx.example.test A": a("mx.example.test", "192.0.2.1") });
    expect(calls).not.toContain("_25._tcp.mx.example.test TLSA");
    expect(p.decision.kind).toBe("opportunistic");
    expect(p.tlsMandatory).toBe(false);
  });

  it("CNAME'd host: TLSA at the target first, then at the original name (RFC 7672 2.2.2)", async () => {
    const { p, calls } = await plan({
      "example.test MX": mx(true),
      "mx.example.test A": a("real.example.test", "192.0.2.1"),
      "_25._tcp.mx.example.test TLSA": tlsa(2),
    });
    expect(calls.slice(-2)).toEqual(["_25._tcp.real.example.test TLSA", "_25._tcp.mx.example.test TLSA"]);
    expect(p.tlsaBase).toBe("mx.example.test");
    expect(p.decision.kind).toBe("dane");
    expect(p.referenceNames).toEqual(["mx.example.test", "example.test"]);
  });

  it("CNAME'd host with TLSA at the target: the target is the base domain and first reference name", async () => {
    const { p } = await plan({ "example.test MX": mx(true), "mx.example.test A": a("real.example.test", "192.0.2.1"), "_25._tcp.real.example.test TLSA": tlsa(3) });
    expect(p.tlsaBase).toBe("real.example.test");
    expect(p.referenceNames).toEqual(["real.example.test", "mx.example.test", "example.test"]);
  });

  it("TLSA timeout defers; SERVFAIL defers as dnssec-invalid", async () => {
    const base = { "example.test MX": mx(true), "mx.example.test A": a("mx.example.test", "192.0.2.1") };
    const t = await plan({ ...base, "_25._tcp.mx.example.test TLSA": { kind: "timeout" } });
    expect(t.p.defer).toMatchObject({ event: "dane:fail", reason: "tlsa-lookup-failed", errno: -39 });
    const s = await plan({ ...base, "_25._tcp.mx.example.test TLSA": { kind: "servfail" } });
    expect(s.p.defer).toMatchObject({ event: "dane:fail", reason: "dnssec-invalid" });
  });

  it("hosts_require_dane on an insecure host defers with dane-required", async () => {
    const { p } = await plan({ "example.test MX": mx(true), "mx.example.test A": a("mx.example.test", "192.0.2.1", false) }, { hosts_require_dane: "192.0.2.0/24" });
    expect(p.mode).toBe("require");
    expect(p.defer).toMatchObject({ reason: "dane-required", errno: -38 });
  });

  it("manual routes and IP literals do no DNS unless asked", async () => {
    const manual = await plan({}, {}, { viaMx: false });
    expect(manual.calls).toEqual([]);
    expect(manual.p.decision.kind).toBe("opportunistic");
    const literal = await plan({}, { daneForManualRoutes: true }, { name: "192.0.2.1", viaMx: false });
    expect(literal.calls).toEqual([]);
    const asked = await plan({ "mx.example.test A": a("mx.example.test", "192.0.2.1"), "_25._tcp.mx.example.test TLSA": tlsa(3) }, { daneForManualRoutes: true }, { viaMx: false });
    expect(asked.calls).toEqual(["mx.example.test A", "_25._tcp.mx.example.test TLSA"]);
    expect(asked.p.decision.kind).toBe("dane");
  });

  it("hosts_require_ocsp makes TLS mandatory and forces the request even under DANE-EE", async () => {
    const { p } = await plan(
      { "example.test MX": mx(true), "mx.example.test A": a("mx.example.test", "192.0.2.1"), "_25._tcp.mx.example.test TLSA": tlsa(3) },
      { hosts_require_ocsp: ["192.0.2.1"] },
    );
    expect(p.requestOcsp).toBe(true);
    const o = await plan({}, { hosts_require_ocsp: "*" }, { viaMx: false });
    expect(o.p.tlsMandatory).toBe(true);
    expect(o.p.afterEhlo(false)).toMatchObject({ event: "tls:fail:connect", reason: "ocsp-required" });
    expect(o.p.handshakeFailed("boom")).toMatchObject({ event: "tls:fail:connect", reason: "handshake-failed", errstr: "boom" });
  });

  it("an explicit hosts_request_ocsp list replaces the DANE rule", async () => {
    const { p } = await plan(
      { "example.test MX": mx(true), "mx.example.test A": a("mx.example.test", "192.0.2.1"), "_25._tcp.mx.example.test TLSA": tlsa(3) },
      { hosts_request_ocsp: "192.0.2.1" },
    );
    expect(p.requestOcsp).toBe(true);
    const none = await plan({}, { hosts_request_ocsp: [] }, { viaMx: false });
    expect(none.p.requestOcsp).toBe(false);
  });
});

describe("log and event fields", () => {
  const outcome: TlsOutcome = { cv: "dane", dane: true, tlsaUsage: 8, ocsp: "not-requested", cipher: "TLSv1.3:TLS_AES_256_GCM_SHA384", peerDn: "CN=mx" };
  it("X= and CV= for the log line", () => {
    expect(tlsLogPart(outcome)).toBe(" X=TLSv1.3:TLS_AES_256_GCM_SHA384 CV=dane");
    expect(tlsLogPart(undefined)).toBe("");
  });
  it("tls_out_* event fields", () => {
    expect(tlsEventFields(outcome)).toEqual({
      tls_out_dane: "yes",
      tls_out_tlsa_usage: "8",
      tls_out_ocsp: "not-requested",
      tls_out_cipher: "TLSv1.3:TLS_AES_256_GCM_SHA384",
      tls_out_peerdn: "CN=mx",
    });
    expect(tlsEventFields(undefined)).toEqual({});
  });
  it("failure fields", () => {
    expect(tlsFailureFields({ event: "dane:fail", errno: -39, reason: "validation-failure", errstr: "x", clearFallback: false })).toEqual({
      tls_out_dane: "no",
      dane_fail_reason: "validation-failure",
    });
    expect(tlsFailureFields({ event: "tls:fail:connect", errno: -39, reason: "ocsp-revoked", errstr: "x", clearFallback: false })).toEqual({ tls_fail_reason: "ocsp-revoked" });
  });
});

describe("offHostDaneResolvers: the start-up warning about trusting a remote AD bit", () => {
  test.each<[string, Pick<TlsPolicyConfig, "hosts_try_dane" | "hosts_require_dane">, boolean, string[], string[]]>([
    ["loopback resolvers only", {}, true, ["127.0.0.1", "[::1]:53"], []],
    ["a remote resolver with DANE by default", {}, true, ["127.0.0.1", "10.0.0.53"], ["10.0.0.53"]],
    ["DANE off (empty hosts_try_dane, no hosts_require_dane)", { hosts_try_dane: "", hosts_require_dane: [] }, true, ["10.0.0.53"], []],
    ["DANE required for some hosts only", { hosts_try_dane: [], hosts_require_dane: "192.0.2.0/24" }, true, ["10.0.0.53"], ["10.0.0.53"]],
    ["no route where DANE applies (static smtp: routes, no dnssec_resolvers)", {}, false, ["10.0.0.53"], []],
  ])("%s", (_name, config, reachable, servers, expected) => {
    expect(offHostDaneResolvers(config, reachable, servers)).toEqual(expected);
  });
});
