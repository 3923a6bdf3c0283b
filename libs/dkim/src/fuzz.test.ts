/**
 * Property test (issue 8): the DKIM-Signature tag parser and the key record
 * parser never throw and never hang on valid, mutated or random input; what
 * they accept is well-formed (offsets inside the input, values trimmed, no
 * duplicate tags, a valid tag list re-serialised parses the same), what they
 * refuse carries a stable code; and verifyMessage on mutated signed messages
 * always resolves to one of the result kinds. POSTERN_FUZZ_RUNS sets the
 * number of parser cases (default 100000; verifyMessage gets a twentieth),
 * POSTERN_FUZZ_SEED replays a failure. The checks are plain comparisons, not
 * expect(): at 100,000 cases jest's matchers cost more than the parser.
 */
import { generateKeyPairSync } from "node:crypto";
import { inspect, isDeepStrictEqual } from "node:util";
import * as fc from "fast-check";
import { dkimErrorCodes, DkimVerifyError } from "./errors";
import { createDkimZone, dkimResults, signMessage, verifyMessage } from "./index";
import { parseKeyRecord } from "./key";
import { parseSignature } from "./signature";
import { parseTagList } from "./tags";

const RUNS = Number(process.env.POSTERN_FUZZ_RUNS ?? 100_000);
const SEED = process.env.POSTERN_FUZZ_SEED === undefined ? undefined : Number(process.env.POSTERN_FUZZ_SEED);

function check(ok: boolean, what: string, ...details: unknown[]): void {
  if (!ok) throw new Error(`${what}: ${details.map((d) => inspect(d, { depth: 6 })).join(" / ")}`);
}

const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
const spki = rsa.publicKey.export({ format: "der", type: "spki" }).toString("base64");
const pkcs1 = rsa.publicKey.export({ format: "der", type: "pkcs1" }).toString("base64");
const edRaw = Buffer.from(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x as string, "base64url").toString("base64");

const fws = fc.constantFrom("", "", " ", "\t", "\r\n ", "\r\n\t", "  ");
const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 80 });
/** Characters that matter to the grammar, often. */
const tricky = fc.string({ unit: fc.constantFrom(";", "=", ":", " ", "\t", "\r", "\n", "a", "b", "v", "1", "/", "+", "@", ".", "\u0000", "\u00e9"), maxLength: 60 });

const sigValue: Record<string, fc.Arbitrary<string>> = {
  v: fc.constantFrom("1", "2", ""),
  a: fc.constantFrom("rsa-sha256", "rsa-sha1", "ed25519-sha256", "RSA-SHA256", "hmac"),
  c: fc.constantFrom("simple/simple", "relaxed/relaxed", "relaxed", "simple/relaxed", "relaxed/", "x/y"),
  d: fc.constantFrom("example.com", "EXAMPLE.com", "sub.example.com", "exa mple.com", "a..b", "-.com", "x".repeat(64) + ".com"),
  s: fc.constantFrom("sel", "s1._v", "a.b", "", "bad sel"),
  h: fc.constantFrom("from", "From : To : Subject", "from:from", "to", "from::to", "from:\r\n to"),
  i: fc.constantFrom("@example.com", "joe@sub.example.com", "x", '"a b"@example.com', "@evil.com"),
  l: fc.oneof(fc.nat().map(String), fc.constantFrom("", "1x", "9".repeat(80))),
  t: fc.oneof(fc.nat().map(String), fc.constantFrom("", "-1", "9".repeat(20))),
  x: fc.oneof(fc.nat().map(String), fc.constantFrom("", "abc")),
  q: fc.constantFrom("dns/txt", "dns", "http:dns/txt"),
  bh: fc.constantFrom("YWJj", "YW Jj", "YWJ", "!!!!", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
  b: fc.constantFrom("YWJj", "YW\r\n Jj", "", "====", "QUJDREVGR0hJSg=="),
  z: latin1,
};
const keyValue: Record<string, fc.Arbitrary<string>> = {
  v: fc.constantFrom("DKIM1", "DKIM2", ""),
  k: fc.constantFrom("rsa", "ed25519", "RSA", "dsa", ""),
  h: fc.constantFrom("sha256", "sha1:sha256", "md5", ""),
  s: fc.constantFrom("*", "email", "tlsrpt", "email:tlsrpt", ""),
  t: fc.constantFrom("y", "s", "y:s", "x", ""),
  n: latin1,
  p: fc.constantFrom(spki, pkcs1, edRaw, "", "AAAA", "!!", `${spki.slice(0, 40)} ${spki.slice(40)}`, spki.slice(0, 100)),
};

/**
 * A tag list: the required tags (mostly with a good value) plus some optional
 * ones from the table, in random order, with FWS around.
 */
function tagList(values: Record<string, fc.Arbitrary<string>>, good: Record<string, string>): fc.Arbitrary<string> {
  const required = Object.keys(good);
  const optional = Object.keys(values).filter((n) => !required.includes(n));
  const valueOf = (n: string): fc.Arbitrary<string> =>
    good[n] === undefined ? (values[n] as fc.Arbitrary<string>) : fc.oneof({ weight: 12, arbitrary: fc.constant(good[n]) }, { weight: 1, arbitrary: values[n] as fc.Arbitrary<string> });
  return fc
    .tuple(fc.subarray(optional), fc.nat({ max: 20 }))
    .chain(([extra, drop]) => {
      // Now and then one required tag is missing.
      const names = [...required.filter((_, k) => k !== drop), ...extra];
      return fc.tuple(fc.shuffledSubarray(names, { minLength: names.length, maxLength: names.length }), fc.tuple(...names.map((n) => fc.tuple(fc.constant(n), valueOf(n), fws, fws, fws))), fc.boolean());
    })
    .map(([order, parts, trailing]) => {
      const byName = new Map(parts.map((p) => [p[0], p] as const));
      return (
        order
          .map((n) => {
            const [, v, f1, f2, f3] = byName.get(n) as readonly [string, string, string, string, string];
            return `${f1}${n}${f2}=${f3}${v}`;
          })
          .join(";") + (trailing ? ";" : "")
      );
    });
}

const goodSig: Record<string, string> = { v: "1", a: "rsa-sha256", b: "QUJDREVGR0hJSg==", bh: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", d: "example.com", h: "from:to", s: "sel" };
const goodKey: Record<string, string> = { p: spki };

const mutate = (base: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(base, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), tricky), { minLength: 1, maxLength: 4 })).map(([s, edits]) => {
    let out = s;
    for (const [at, len, insert] of edits) {
      const p = at % (out.length + 1);
      out = out.slice(0, p) + insert + out.slice(p + len);
    }
    return out;
  });

const input = (values: Record<string, fc.Arbitrary<string>>, good: Record<string, string>): fc.Arbitrary<{ kind: string; text: string }> =>
  fc.oneof(
    { weight: 4, arbitrary: tagList(values, good).map((text) => ({ kind: "generated", text })) },
    { weight: 4, arbitrary: mutate(tagList(values, good)).map((text) => ({ kind: "mutated", text })) },
    { weight: 1, arbitrary: latin1.map((text) => ({ kind: "random", text })) },
    { weight: 1, arbitrary: tricky.map((text) => ({ kind: "tricky", text })) },
  );

/** Invariants of any tag-list parse. */
function checkTags(text: string): void {
  const r = parseTagList(text);
  if (!r.ok) {
    check(typeof r.reason === "string" && r.reason.length > 0 && r.reason.length < 80, "reason", r);
    return;
  }
  let previousEnd = -1;
  for (const [name, t] of r.tags) {
    check(name === t.name && /^[A-Za-z][A-Za-z0-9_]*$/.test(name), "tag name", t);
    check(t.rawStart > previousEnd && t.rawStart <= t.rawEnd && t.rawEnd <= text.length, "offsets", t, text);
    check(text.slice(t.rawStart, t.rawEnd).includes(t.value), "value inside its area", t, text);
    check(!/^[ \t\r\n]|[ \t\r\n]$/.test(t.value), "value not trimmed", t);
    previousEnd = t.rawEnd;
  }
  // Re-serialised, the same tags come back.
  const again = parseTagList([...r.tags.values()].map((t) => `${t.name}=${t.value}`).join("; "));
  check(again.ok && isDeepStrictEqual([...again.tags].map(([k, t]) => [k, t.value]), [...r.tags].map(([k, t]) => [k, t.value])), "round trip", text, again);
}

const SIG_CODES = new Set<string>([dkimErrorCodes.signatureSyntax]);
const KEY_CODES = new Set<string>([dkimErrorCodes.keySyntax, dkimErrorCodes.keyMismatch, dkimErrorCodes.keyRevoked]);

test(`fuzz: ${RUNS} DKIM-Signature values and ${RUNS} key records`, () => {
  const started = Date.now();
  const seen = { sigOk: 0, sigError: 0, keyOk: 0, keyError: 0 };
  fc.assert(
    fc.property(input(sigValue, goodSig), ({ text }) => {
      checkTags(text);
      const r = parseSignature(text);
      if (r.ok) {
        seen.sigOk++;
        check(r.sig.bStart <= r.sig.bEnd && r.sig.bEnd <= text.length && r.sig.signedHeaders.includes("from"), "signature", r.sig);
      } else {
        seen.sigError++;
        check(r.error instanceof DkimVerifyError && SIG_CODES.has(r.error.code) && r.error.name === "DkimVerifyError", "untyped error", r.error);
      }
      for (const f of [r.facts.domain, r.facts.selector, r.facts.algorithm, r.facts.headerB]) check(!/[\u0000-\u001f\u007f]/.test(f) && f.length <= 260, "facts", r.facts);
    }),
    { numRuns: RUNS, seed: SEED },
  );
  fc.assert(
    fc.property(input(keyValue, goodKey), ({ text }) => {
      checkTags(text);
      const r = parseKeyRecord(text);
      if (r.ok) {
        seen.keyOk++;
        check(r.key.bits > 0 && (r.key.keyType === "rsa" || r.key.keyType === "ed25519"), "key", r.key);
      } else {
        seen.keyError++;
        check(r.error instanceof DkimVerifyError && KEY_CODES.has(r.error.code), "untyped key error", r.error);
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
  console.log(`dkim parser fuzz: ${2 * RUNS} cases in ${Date.now() - started} ms ${JSON.stringify(seen)}`);
  check(seen.sigOk > RUNS / 100 && seen.keyOk > RUNS / 20, "too few valid samples: the generators are off", seen);
  expect(seen.sigOk + seen.sigError + seen.keyOk + seen.keyError).toBe(2 * RUNS);
}, 600_000);

test(`fuzz: ${Math.ceil(RUNS / 20)} mutated signed messages through verifyMessage`, async () => {
  const message = "From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\n\r\nbody  \r\n\r\n";
  const signed = signMessage(message, { domain: "example.com", selector: "sel", privateKey: rsa.privateKey, bodyLength: true }) + message;
  const resolver = createDkimZone({ "sel._domainkey.example.com": `p=${spki}` });
  const kinds = new Set<string>(Object.values(dkimResults));
  const tally: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(mutate(fc.constant(signed)), fc.nat({ max: 64 }), async (text, cut) => {
      const whole = await verifyMessage(Buffer.from(text, "latin1"), { resolver });
      const bytes = Buffer.from(text, "latin1");
      const parts: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += cut + 1) parts.push(bytes.subarray(i, i + cut + 1));
      const streamed = await verifyMessage((async function* () {
        for (const p of parts) yield await Promise.resolve(p);
      })(), { resolver });
      for (const r of whole) {
        check(kinds.has(r.result) && r.result !== "none" && r.authResults.startsWith(`dkim=${r.result}`), "result", r);
        check(!/[\r\n]/.test(r.authResults), "header fragment with a line break", r.authResults);
        tally[r.result] = (tally[r.result] ?? 0) + 1;
      }
      check(isDeepStrictEqual(whole, streamed), "streaming changed the results", whole, streamed);
    }),
    { numRuns: Math.ceil(RUNS / 20), seed: SEED },
  );
  console.log(`dkim verify fuzz: ${JSON.stringify(tally)}`);
  expect(tally.pass).toBeGreaterThan(0);
}, 600_000);
