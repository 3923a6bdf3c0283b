import { createDmarcZone, type DmarcInput, evaluateDmarc } from "./index";
import { cases, zone } from "./testing/table";

describe.each(["rfc7489", "rfc9989"] as const)("evaluateDmarc in %s mode", (mode) => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const dns = createDmarcZone(zone);
    const input: DmarcInput = {
      from: c.from === "" ? [] : [c.from],
      dkim: (c.dkim ?? []).map(([domain, result]) => ({ domain, result, selector: "s1" })),
      ...(c.spf === undefined ? {} : { spf: { result: c.spf[0], domain: c.spf[1] } }),
    };
    const v = await evaluateDmarc(input, { dns, mode, authservId: "mx.test", ...(c.random === undefined ? {} : { random: () => c.random as number }) });
    const want = c.want[mode];
    expect(v.status).toBe(want.status);
    if (want.used !== undefined) expect(v.usedDomain).toBe(want.used);
    if (want.policy !== undefined) expect(v.domainPolicy).toBe(want.policy);
    if (want.result !== undefined) expect(v.result).toBe(want.result);
    expect(v.arHeader.startsWith("Authentication-Results: mx.test;\r\n\t")).toBe(true);
    expect(v.arHeader).toContain(v.arDmarc);
    // a tree walk never makes more than 8 record queries for one name
    expect(dns.queries.length).toBeLessThanOrEqual(64);
  });
});

test("the tree walk of a 10-label name makes 8 queries in the RFC 9989 order", async () => {
  const dns = createDmarcZone({});
  await evaluateDmarc({ from: ["a@a.b.c.d.e.f.g.h.i.j"], dkim: [] }, { dns, mode: "rfc9989", authservId: "mx" });
  expect(dns.queries.map((q) => q.name)).toEqual([
    "_dmarc.a.b.c.d.e.f.g.h.i.j",
    "_dmarc.d.e.f.g.h.i.j",
    "_dmarc.e.f.g.h.i.j",
    "_dmarc.f.g.h.i.j",
    "_dmarc.g.h.i.j",
    "_dmarc.h.i.j",
    "_dmarc.i.j",
    "_dmarc.j",
  ]);
});

test("RFC 7489 queries the author domain then the PSL organizational domain only", async () => {
  const dns = createDmarcZone({});
  await evaluateDmarc({ from: ["a@x.y.example.co.uk"], dkim: [] }, { dns, mode: "rfc7489", authservId: "mx" });
  expect(dns.queries.map((q) => q.name)).toEqual(["_dmarc.x.y.example.co.uk", "_dmarc.example.co.uk"]);
});

test("a resolver that throws becomes temperror with the internal code", async () => {
  const dns = { txt: () => Promise.reject(new Error("boom")), a: () => Promise.reject(new Error("boom")) };
  const v = await evaluateDmarc({ from: ["a@example.com"], dkim: [] }, { dns, mode: "rfc9989", authservId: "mx" });
  expect(v.status).toBe("temperror");
  expect(v.code).toBe("POSTERN_DMARC_INTERNAL");
  expect(v.domainPolicy).toBe("");
});

test("an aborted signal is temperror (deadline)", async () => {
  const ac = new AbortController();
  ac.abort();
  const v = await evaluateDmarc({ from: ["a@example.com"], dkim: [] }, { dns: createDmarcZone(zone), mode: "rfc7489", authservId: "mx", signal: ac.signal });
  expect(v.status).toBe("temperror");
  expect(v.code).toBe("POSTERN_DMARC_LIMIT");
});

test("the AR header lists spf, every dkim signature and dmarc", async () => {
  const v = await evaluateDmarc(
    { from: ["a@example.com"], dkim: [{ domain: "example.com", selector: "s1", result: "pass", signature: "abcdefghijk" }, { domain: "x.test", result: "fail" }], spf: { result: "pass", domain: "bounce.example.com" } },
    { dns: createDmarcZone(zone), mode: "rfc9989", authservId: "mx.test" },
  );
  expect(v.arHeader).toBe(
    "Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=bounce.example.com;\r\n\tdkim=pass header.d=example.com header.s=s1 header.b=abcdefgh;\r\n\tdkim=fail header.d=x.test;\r\n\tdmarc=pass (p=reject sp=quarantine dis=none) header.from=example.com",
  );
});

test("hostile From domains cannot inject header text", async () => {
  const v = await evaluateDmarc({ message: "From: a@exa\u0000mple.com\r\nSubject: x\r\n\r\nbody", dkim: [] }, { dns: createDmarcZone(zone), mode: "rfc9989", authservId: "mx" });
  expect(v.arHeader).not.toMatch(/[\0]/);
  expect(v.status).toBe("nofrom");
});
