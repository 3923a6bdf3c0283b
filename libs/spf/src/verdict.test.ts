import { type SpfDns } from "./dns";
import { SpfInputError, SpfOptionsError } from "./errors";
import { isDeprecatedSpfResultName, parseSpfResultName } from "./results";
import { createZoneDns, type ZoneData } from "./testing/zone-dns";
import { checkSpf, createSpfChecker, type SpfCheckInput } from "./verdict";

const zone: ZoneData = {
  "example.com": [{ TXT: "v=spf1 ip4:192.0.2.0/24 include:_spf.example.com -all exp=why.example.com" }, { A: "198.51.100.7" }, { MX: [10, "mx.example.com"] }],
  "_spf.example.com": [{ TXT: "v=spf1 ip6:2001:db8::/32 -all" }],
  "why.example.com": [{ TXT: "%{i} may not send for %{d}" }],
  "mx.example.com": [{ A: "198.51.100.25" }],
  "helo.example.com": [{ TXT: "v=spf1 a -all" }, { A: "192.0.2.80" }],
  "nospf.example.com": [{ A: "203.0.113.9" }],
  "broken.example.com": [{ TXT: "v=spf1 ip4:192.0.2.1 moo" }],
  "flaky.example.com": [{ TXT: "v=spf1 include:timeout.example.com -all" }],
  "timeout.example.com": ["TIMEOUT"],
};

const base: SpfCheckInput = { ip: "192.0.2.10", mailFrom: "user@example.com", helo: "helo.example.com" };

async function check(input: Partial<SpfCheckInput>, dns: SpfDns = createZoneDns(zone)) {
  return checkSpf(dns, { ...base, ...input }, { receiver: "mx.postern.test", now: () => 1_700_000_000_000 });
}

describe("results", () => {
  test.each([
    ["192.0.2.10", "pass", "ip4:192.0.2.0/24"],
    ["2001:db8::25", "pass", "include:_spf.example.com"],
    ["::ffff:192.0.2.10", "pass", "ip4:192.0.2.0/24"],
    ["203.0.113.1", "fail", "-all"],
  ])("%s → %s by %s", async (ip, result, mechanism) => {
    const verdict = await check({ ip });
    expect(verdict).toMatchObject({ result, mechanism, domain: "example.com", identity: "mailfrom", guessed: false });
  });

  test("fail carries the exp= explanation; other results none", async () => {
    expect((await check({ ip: "203.0.113.1" })).explanation).toBe("203.0.113.1 may not send for example.com");
    expect((await check({})).explanation).toBeUndefined();
  });

  test("default explanation", async () => {
    const verdict = await check({ ip: "203.0.113.1", mailFrom: "user@helo.example.com" });
    expect(verdict.explanation).toBe("helo.example.com does not designate 203.0.113.1 as a permitted sender");
  });

  test("syntax errors are permerror with a problem and code", async () => {
    const verdict = await check({ mailFrom: "user@broken.example.com" });
    expect(verdict).toMatchObject({ result: "permerror", code: "POSTERN_SPF_SYNTAX", problem: "unknown mechanism: moo" });
  });

  test("DNS errors are temperror", async () => {
    const verdict = await check({ mailFrom: "user@flaky.example.com" });
    expect(verdict).toMatchObject({ result: "temperror", code: "POSTERN_SPF_DNS", mechanism: "include:timeout.example.com" });
  });

  test("a resolver that throws gives temperror, not an exception", async () => {
    const dns: SpfDns = { ...createZoneDns(zone), txt: () => Promise.reject(new Error("socket closed")) };
    const verdict = await check({}, dns);
    expect(verdict).toMatchObject({ result: "temperror", code: "POSTERN_SPF_INTERNAL" });
    expect(verdict.problem).toContain("socket closed");
  });

  /** A rejection with something that is not an Error, as a careless resolver might give. */
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point of the test
  const rejectWith = (reason: unknown): Promise<never> => Promise.reject(reason);

  // LimitedDns settles each query in the query's own reaction (no async wrapper): what a resolver
  // throws or rejects with must reach the verdict as it did, with and without a deadline signal.
  test.each([
    ["rejects with an Error", () => Promise.reject(new Error("socket closed")), false, "unexpected error during SPF evaluation: socket closed"],
    ["rejects with an Error, with a signal", () => Promise.reject(new Error("socket closed")), true, "unexpected error during SPF evaluation: socket closed"],
    ["throws synchronously", () => { throw new Error("bug"); }, false, "unexpected error during SPF evaluation: bug"],
    ["throws synchronously, with a signal", () => { throw new Error("bug"); }, true, "unexpected error during SPF evaluation: bug"],
    ["rejects with a string", () => rejectWith("gone"), false, "unexpected error during SPF evaluation"],
    ["rejects with a string, with a signal", () => rejectWith("gone"), true, "unexpected error during SPF evaluation: gone"],
    ["throws a string", () => { throw "gone" as unknown as Error; }, true, "unexpected error during SPF evaluation"],
  ] as const)("a resolver that %s: temperror with its problem", async (_name, txt, withSignal, problem) => {
    const dns: SpfDns = { ...createZoneDns(zone), txt };
    const verdict = await check(withSignal ? { signal: new AbortController().signal } : {}, dns);
    expect(verdict).toMatchObject({ result: "temperror", code: "POSTERN_SPF_INTERNAL", problem });
  });

  test("an aborted check is temperror", async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await check({ signal: controller.signal })).result).toBe("temperror");
  });

  test("an invalid client address throws SpfInputError", async () => {
    await expect(check({ ip: "192.0.2.300" })).rejects.toBeInstanceOf(SpfInputError);
  });
});

describe("identities", () => {
  test("empty MAIL FROM checks postmaster@helo as the HELO identity", async () => {
    const verdict = await check({ mailFrom: "", ip: "192.0.2.80" });
    expect(verdict).toMatchObject({ result: "pass", identity: "helo", domain: "helo.example.com" });
    expect(verdict.authenticationResults).toBe("spf=pass smtp.helo=helo.example.com");
  });

  test("explicit HELO identity", async () => {
    const verdict = await check({ identity: "helo", ip: "192.0.2.10" });
    expect(verdict).toMatchObject({ result: "fail", identity: "helo", domain: "helo.example.com" });
  });

  test("a HELO that is not a domain gives none", async () => {
    expect((await check({ identity: "helo", helo: "[192.0.2.10]" })).result).toBe("none");
  });
});

describe("spf_guess", () => {
  test("no record: the guess decides and is flagged", async () => {
    const verdict = await check({ mailFrom: "user@nospf.example.com", ip: "203.0.113.200", guess: true });
    expect(verdict).toMatchObject({ result: "pass", guessed: true, mechanism: "a/24" });
    expect(verdict.exim.spf_result_guessed).toBe(true);
  });

  test("without guess, none", async () => {
    expect(await check({ mailFrom: "user@nospf.example.com", ip: "203.0.113.200" })).toMatchObject({ result: "none", guessed: false });
  });

  test("a published record wins", async () => {
    expect(await check({ ip: "203.0.113.1", guess: true })).toMatchObject({ result: "fail", guessed: false });
  });

  test("the default guess ends in ?all", async () => {
    expect(await check({ mailFrom: "user@nospf.example.com", ip: "198.51.100.1", guess: true })).toMatchObject({ result: "neutral", guessed: true });
  });

  test("a custom guess record, checked when the checker is built", async () => {
    const checker = createSpfChecker(createZoneDns(zone), { guessRecord: "v=spf1 -all" });
    expect((await checker.check({ ...base, mailFrom: "user@nospf.example.com", guess: true })).result).toBe("fail");
    expect(() => createSpfChecker(createZoneDns(zone), { guessRecord: "v=spf1 moo" })).toThrow(SpfOptionsError);
    expect(() => createSpfChecker(createZoneDns(zone), { defaultExplanation: "%{x}" })).toThrow(SpfOptionsError);
  });
});

describe("headers and Exim variables", () => {
  test("Received-SPF golden line", async () => {
    const verdict = await check({ ip: "203.0.113.1" });
    expect(verdict.exim.spf_received).toBe(
      "Received-SPF: fail (mx.postern.test: domain of user@example.com does not designate 203.0.113.1 as permitted sender) " +
        'client-ip=203.0.113.1; envelope-from="user@example.com"; helo=helo.example.com; receiver=mx.postern.test; identity=mailfrom; mechanism=-all',
    );
    expect(verdict.receivedSpf).toBe(verdict.exim.spf_received.slice("Received-SPF: ".length));
    expect(verdict.exim).toMatchObject({ spf_result: "fail", spf_smtp_comment: "203.0.113.1 may not send for example.com" });
    expect(verdict.authenticationResults).toBe("spf=fail smtp.mailfrom=user@example.com");
  });

  test("IPv6 client-ip is quoted; permerror carries problem=", async () => {
    const v6 = await check({ ip: "2001:DB8:0::1" });
    expect(v6.receivedSpf).toContain('client-ip="2001:db8::1";');
    const broken = await check({ mailFrom: "user@broken.example.com" });
    expect(broken.receivedSpf).toMatch(/^permerror \(.*\) .*; problem="unknown mechanism: moo"$/);
    expect(broken.authenticationResults).toBe('spf=permerror reason="unknown mechanism: moo" smtp.mailfrom=user@broken.example.com');
    expect(broken.exim.spf_smtp_comment).toContain("unknown mechanism: moo");
  });

  test("hostile HELO and sender cannot break the header", async () => {
    const verdict = await check({ helo: 'evil\r\nX-Injected: 1 "(x)"', mailFrom: "a(b)\\c\u0085@example.com" });
    for (const text of [verdict.receivedSpf, verdict.exim.spf_header_comment, verdict.exim.spf_smtp_comment, verdict.authenticationResults]) {
      expect(text).not.toMatch(/[\r\n\u0085]/);
    }
    expect(verdict.receivedSpf).toContain('helo="evil??X-Injected: 1 \\"(x)\\""');
    expect(verdict.receivedSpf).toContain("domain of a\\(b\\)\\\\c?@example.com");
  });

  test("long fields are capped so the header stays under 998 octets", async () => {
    const verdict = await check({ helo: `${"h".repeat(300)}.example.com`, mailFrom: `${"l".repeat(64)}@${"d".repeat(60)}.example.com` });
    expect(verdict.exim.spf_received.length).toBeLessThan(998);
  });
});

describe("parseSpfResultName", () => {
  test.each([
    ["pass", "pass"],
    ["FAIL", "fail"],
    [" softfail ", "softfail"],
    ["neutral", "neutral"],
    ["none", "none"],
    ["permerror", "permerror"],
    ["temperror", "temperror"],
    ["err_perm", "permerror"],
    ["err_temp", "temperror"],
    ["ERR_TEMP", "temperror"],
    ["unknown", undefined],
    ["error", undefined],
    ["toString", undefined],
    ["", undefined],
  ])("%j → %s", (name, want) => {
    expect(parseSpfResultName(name)).toBe(want);
  });

  test("deprecated aliases are recognisable", () => {
    expect(isDeprecatedSpfResultName("err_perm")).toBe(true);
    expect(isDeprecatedSpfResultName("permerror")).toBe(false);
  });
});
