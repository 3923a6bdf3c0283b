/**
 * Random record text, explanation text and client input never make the
 * library throw: every check resolves to one of the seven results, and
 * check_host() itself never rejects with a resolver that does not throw.
 */
import * as fc from "fast-check";
import { checkHost, type EvalContext } from "./evaluate";
import { parseClientIp } from "./ip";
import { LimitedDns, resolveLimits } from "./limits";
import { parseMacroString } from "./macro";
import { parseRecord } from "./record";
import { spfResults } from "./results";
import { createZoneDns, type ZoneData } from "./testing/zone-dns";
import { createSpfChecker } from "./verdict";

const RESULTS = Object.values(spfResults);

const pieces = [
  "a", "mx", "ptr", "all", "-all", "~all", "?all", "+all", "include:inc.example.com", "include:%{d}", "redirect=r.example.com",
  "redirect=%{o}", "exp=e.example.com", "exists:%{i}.x.example.com", "a:%{p}.example.com", "ip4:192.0.2.0/24", "ip6:2001:db8::/32",
  "a/24//64", "mx:%{d2}/0", "ptr:%{o}", "%{l2r-}", "%{H}", "%%", "%_", "%-", ":", "/", "//", "=", ".", "%", "{", "}", "v=spf1",
];
const noise = fc.string({ unit: "binary", maxLength: 12 });
const asciiNoise = fc.string({ unit: fc.constantFrom(..."%{}:/.-=+~?!ai0123456789 \t\r\n\0\u0080\u00ff"), maxLength: 16 });
const term = fc.oneof(fc.constantFrom(...pieces), noise, asciiNoise, fc.tuple(fc.constantFrom(...pieces), asciiNoise).map(([a, b]) => a + b));
const record = fc.array(term, { maxLength: 14 }).map((terms) => `v=spf1 ${terms.join(" ")}`);
const anyText = fc.oneof(record, noise, asciiNoise);

function zoneWith(main: string, inc: string, redirect: string, exp: string): ZoneData {
  return {
    "example.com": [{ TXT: main }, { A: "192.0.2.1" }, { MX: [10, "mx.example.com"] }],
    "inc.example.com": [{ TXT: inc }],
    "r.example.com": [{ TXT: redirect }],
    "e.example.com": [{ TXT: exp }],
    "mx.example.com": [{ A: "192.0.2.2" }, { AAAA: "2001:db8::2" }],
    "1.0.2.0.192.in-addr.arpa": [{ PTR: "mx.example.com" }],
  };
}

const client = fc.constantFrom("192.0.2.1", "192.0.2.2", "2001:db8::2", "::ffff:192.0.2.1", "198.51.100.1");
const sender = fc.oneof(fc.constantFrom("user@example.com", "", "@example.com", "example.com"), fc.string({ maxLength: 20 }));

describe("fuzz", () => {
  test("parsing arbitrary record and macro text returns a value", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const parsed = parseRecord(text);
        expect(typeof parsed.ok).toBe("boolean");
        for (const place of ["domain", "explanation", "modifier"] as const) parseMacroString(text, place);
      }),
      { numRuns: 2000 },
    );
  });

  test("a check never throws and always gives one of the seven results", async () => {
    await fc.assert(
      fc.asyncProperty(record, record, record, anyText, client, sender, noise, fc.boolean(), async (main, inc, redir, exp, ip, mailFrom, helo, guess) => {
        const checker = createSpfChecker(createZoneDns(zoneWith(main, inc, redir, exp)));
        const verdict = await checker.check({ ip, mailFrom, helo, guess });
        expect(RESULTS).toContain(verdict.result);
        expect(verdict.receivedSpf).not.toMatch(/[\r\n]/);
        expect(verdict.exim.spf_smtp_comment).toMatch(/^[\x20-\x7e]*$/);
      }),
      { numRuns: 400 },
    );
  });

  test("check_host() resolves for any record text", async () => {
    await fc.assert(
      fc.asyncProperty(record, record, async (main, inc) => {
        const ip = parseClientIp("192.0.2.1");
        if (!ip) throw new Error("test address");
        const ctx: EvalContext = {
          dns: new LimitedDns(createZoneDns(zoneWith(main, inc, inc, "x")), resolveLimits()),
          ip,
          vars: { s: "u@example.com", l: "u", o: "example.com", i: "192.0.2.1", h: "h.example.com", c: "192.0.2.1", r: "unknown", t: "0", v: "in-addr" },
          parse: parseRecord,
        };
        const outcome = await checkHost(ctx, "example.com");
        expect(["result", "none", "error"]).toContain(outcome.kind);
      }),
      { numRuns: 400 },
    );
  });
});
