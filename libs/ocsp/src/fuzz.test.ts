/**
 * Property test (issue 14, fuzzing in CI): an OCSP response comes from a
 * responder we do not control (or from whoever sits on the path to it).
 * Random bytes and damaged real responses (openssl ocsp, several signer and
 * status shapes) never make parseResponse or verifyResponse throw anything
 * but a named OcspError (so evaluateResponse never reports
 * POSTERN_OCSP_INTERNAL), and no damage changes the answer: a damaged
 * response that still verifies says exactly what the original said. Damage
 * is byte-level (flips, truncation, insertion) and structural (a DER element
 * of the response resized, emptied, duplicated, dropped or retagged).
 * POSTERN_FUZZ_RUNS sets the number of cases (default 100000),
 * POSTERN_FUZZ_SEED replays a failure. The checks are plain comparisons, not
 * expect(): at 100,000 cases jest's matchers cost more than the parser.
 */
import { inspect } from "node:util";
import * as fc from "fast-check";
import { type CertPair, prepareCertificates } from "./certs";
import { readTlv, type Tlv } from "./der";
import { OcspError, OcspErrorCode } from "./errors";
import { parseResponse } from "./response";
import { makePki, type CertName, type Pki, type RespondOptions } from "./testing/pki";
import { verifyResponse, type VerifiedResponse } from "./verify";

const RUNS = Number(process.env.POSTERN_FUZZ_RUNS ?? 100_000);
const SEED = process.env.POSTERN_FUZZ_SEED === undefined ? undefined : Number(process.env.POSTERN_FUZZ_SEED);

function check(ok: boolean, what: string, ...details: unknown[]): void {
  if (!ok) throw new Error(`${what}: ${details.map((d) => inspect(d, { depth: 4, maxStringLength: 300 })).join(" / ")}`);
}

interface Base {
  name: string;
  der: Buffer;
  pair: CertPair;
  now: Date;
  /** the verdict on the undamaged response: the status, or the error code */
  want: string;
  result: VerifiedResponse | undefined;
  /** every DER element of the response, constructed ones walked into */
  tlvs: Tlv[];
}

/** All elements, depth first; content that does not parse as DER (OCTET STRING payloads aside) is a leaf. */
function walk(buf: Buffer, from: number, to: number, out: Tlv[], depth = 0): void {
  for (let at = from; at < to; ) {
    let t: Tlv;
    try {
      t = readTlv(buf, at, to);
    } catch {
      return;
    }
    out.push(t);
    // constructed elements, and the OCTET STRING that wraps the BasicOCSPResponse
    if (depth < 12 && ((t.tag & 0x20) !== 0 || t.tag === 0x04)) walk(buf, t.contentStart, t.end, out, depth + 1);
    at = t.end;
  }
}

function verdict(der: Uint8Array, b: Base): { code: string; result?: VerifiedResponse } {
  try {
    const result = verifyResponse(der, b.pair, { now: b.now });
    return { code: result.status, result };
  } catch (err) {
    check(err instanceof OcspError && err.name === err.constructor.name && err.code !== OcspErrorCode.Internal, "not a named OcspError", err);
    return { code: (err as OcspError).code };
  }
}

/** DER length octets for n. */
function lengthOctets(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.of(0x80 | bytes.length, ...bytes);
}

type Damage = readonly [kind: number, at: number, value: number];
const damage: fc.Arbitrary<Damage[]> = fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 });

/** Applies structural damage to element `at` of the original, or byte damage anywhere. */
function mutate(b: Base, ds: readonly Damage[]): Buffer {
  let d = b.der;
  for (const [kind, at, value] of ds) {
    const i = d.length === 0 ? 0 : at % d.length;
    const t = b.tlvs[at % b.tlvs.length] as Tlv;
    // element offsets refer to the original; after a first change they may not line up, which is more damage
    const inside = t.end <= d.length;
    switch (kind) {
      case 0: // one bit
        d = Buffer.from(d);
        if (i < d.length) d[i] = (d[i] as number) ^ (1 << value % 8);
        break;
      case 1: // one byte
        d = Buffer.from(d);
        if (i < d.length) d[i] = value;
        break;
      case 2: // truncation
        d = d.subarray(0, i);
        break;
      case 3: // bytes inserted
        d = Buffer.concat([d.subarray(0, i), Buffer.of(value, at & 0xff), d.subarray(i)]);
        break;
      case 4: // element length changed by a small amount (its encoding kept short or long)
        if (inside) d = Buffer.concat([d.subarray(0, t.start + 1), lengthOctets(Math.max(0, t.end - t.contentStart + (value % 7) - 3)), d.subarray(t.contentStart)]);
        break;
      case 5: // element emptied
        if (inside) d = Buffer.concat([d.subarray(0, t.start), Buffer.of(d[t.start] as number, 0), d.subarray(t.end)]);
        break;
      case 6: // element duplicated
        if (inside) d = Buffer.concat([d.subarray(0, t.end), d.subarray(t.start, t.end), d.subarray(t.end)]);
        break;
      case 7: // element dropped
        if (inside) d = Buffer.concat([d.subarray(0, t.start), d.subarray(t.end)]);
        break;
      case 8: // element retagged
        if (inside) {
          d = Buffer.from(d);
          d[t.start] = [0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x18, 0x30, 0x31, 0xa0, 0xa1, 0xa2, 0x80][value % 13] as number;
        }
        break;
      default: // element content replaced by random bytes of the same length
        if (inside) {
          d = Buffer.from(d);
          for (let j = t.contentStart; j < t.end; j++) d[j] = (value * 31 + j * 17) & 0xff;
        }
    }
  }
  return d;
}

let pki: Pki;
const bases: Base[] = [];

beforeAll(() => {
  pki = makePki();
  pki.revoke("flip");
  const pairs = new Map<CertName, CertPair>();
  const pairOf = (leaf: CertName): CertPair => {
    const p = pairs.get(leaf) ?? prepareCertificates(pki.der(leaf), pki.der("ca"));
    pairs.set(leaf, p);
    return p;
  };
  const shapes: Array<[string, RespondOptions]> = [
    ["delegated signer, good", { ndays: 1 }],
    ["issuer, by key, no certs", { signer: "ca", nmin: 10, noCerts: true, keyId: true }],
    ["issuer, by name, certs", { signer: "ca", nmin: 10 }],
    ["revoked", { cert: "flip", ndays: 1 }],
    ["unknown", { cert: "unknown", ndays: 1 }],
    ["no nextUpdate", {}],
    ["SHA-1", { ndays: 1, digest: "sha1" }],
    ["signer without EKU", { signer: "signer-noeku", ndays: 1 }],
  ];
  for (const [name, opts] of shapes) {
    const der = pki.respond(opts);
    const thisUpdate = parseResponse(der).data.responses[0]?.thisUpdate ?? new Date();
    const base: Base = { name, der, pair: pairOf(opts.cert ?? "good"), now: new Date(thisUpdate.getTime() + 1000), want: "", result: undefined, tlvs: [] };
    const v = verdict(der, base);
    base.want = v.code;
    base.result = v.result;
    walk(der, 0, der.length, base.tlvs);
    bases.push(base);
  }
}, 120_000);
afterAll(() => pki?.remove());

test(`fuzz: ${RUNS} random and damaged OCSP responses`, () => {
  // the undamaged responses verify as openssl made them
  check(bases.map((b) => b.want).join(" ") === "good good good revoked unknown POSTERN_OCSP_NO_NEXT_UPDATE POSTERN_OCSP_UNSUPPORTED_ALGORITHM POSTERN_OCSP_UNAUTHORIZED_SIGNER", "base verdicts", bases.map((b) => [b.name, b.want]));
  const started = Date.now();
  const seen: Record<string, number> = {};
  // almost every case ends in a thrown OcspMalformedError: without stack traces they cost a third less
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const sample = fc.oneof(
    { weight: 9, arbitrary: fc.tuple(fc.nat(), damage).map(([n, d]) => ({ base: bases[n % bases.length] as Base, d })) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 200 })).map(([n, u]) => ({ base: bases[n % bases.length] as Base, random: Buffer.from(u) })) },
  );
  try {
    fc.assert(
      fc.property(sample, (s) => {
        const der = "random" in s ? s.random : mutate(s.base, s.d);
        // verifyResponse parses first: its errors are the parser's for most cases
        const v = verdict(der, s.base);
        seen[v.code] = (seen[v.code] ?? 0) + 1;
        if (v.result === undefined) return;
        // verified after damage: the answer must be the original one
        const r = s.base.result;
        check(
          r !== undefined &&
            v.result.status === r.status &&
            v.result.thisUpdate.getTime() === r.thisUpdate.getTime() &&
            v.result.nextUpdate.getTime() === r.nextUpdate.getTime() &&
            v.result.revocationTime?.getTime() === r.revocationTime?.getTime(),
          "damage changed a verified answer",
          s.base.name,
          v.result,
          r,
        );
      }),
      { numRuns: RUNS, seed: SEED },
    );
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  console.log(`ocsp fuzz: ${RUNS} cases in ${Date.now() - started} ms ${JSON.stringify(seen)}`);
  expect(Object.values(seen).reduce((a, b) => a + b, 0)).toBe(RUNS);
}, 1_200_000);
