/**
 * Property test (issue 5, "Done when" 4): random and mutated headers never
 * make the parser throw or buffer more than maxHeaderBytes, every input ends
 * as need-more, done or a typed error whatever the chunking, and valid
 * encodings round-trip. POSTERN_FUZZ_RUNS sets the number of cases (default
 * 100000), POSTERN_FUZZ_SEED replays a failure. The checks are plain
 * comparisons, not expect(): at 100,000 cases jest's matchers cost more than
 * the parser.
 */
import { inspect, isDeepStrictEqual } from "node:util";
import * as fc from "fast-check";
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from "./encode";
import { proxyErrorCodes, ProxyProtocolError } from "./errors";
import { parseProxyHeader } from "./parser";
import { expectedHeader, mutatedInput, randomInput, validSample, type ValidSample } from "./test/arbitraries";
import { feed, whole, type Fed } from "./test/support";
import type { ProxyHeader } from "./types";

const RUNS = Number(process.env.POSTERN_FUZZ_RUNS ?? 100_000);
const SEED = process.env.POSTERN_FUZZ_SEED === undefined ? undefined : Number(process.env.POSTERN_FUZZ_SEED);
const PARSE_CODES = new Set<string>(Object.values(proxyErrorCodes).filter((c) => !/STATE|OPTIONS|ENCODE|TRUNCATED/.test(c)));

type Sample = { kind: "valid"; sample: ValidSample } | { kind: "mutated" | "random"; input: Buffer };
const sample: fc.Arbitrary<Sample> = fc.oneof(
  { weight: 3, arbitrary: validSample.map((s): Sample => ({ kind: "valid", sample: s })) },
  { weight: 5, arbitrary: mutatedInput.map((input): Sample => ({ kind: "mutated", input })) },
  { weight: 2, arbitrary: randomInput.map((input): Sample => ({ kind: "random", input })) },
);
const maxHeaderBytes = fc.oneof(fc.constant(4096), fc.constantFrom(16, 28, 64, 107, 128, 232), fc.integer({ min: 16, max: 600 }));
const cuts = fc.array(fc.nat(), { maxLength: 6 });

function check(ok: boolean, what: string, ...details: unknown[]): void {
  if (!ok) throw new Error(`${what}: ${details.map((d) => inspect(d, { depth: 6 })).join(" / ")}`);
}

function chunk(input: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (input.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, input.length]) {
    out.push(input.subarray(from, p));
    from = p;
  }
  return out;
}

function sameOutcome(a: Fed, b: Fed): boolean {
  const x = a.result;
  const y = b.result;
  if (x.status === "done" && y.status === "done") {
    return x.headerBytes === y.headerBytes && a.rest.equals(b.rest) && isDeepStrictEqual(x.header, y.header);
  }
  if (x.status === "error" && y.status === "error") {
    return x.error.code === y.error.code && x.error.reason === y.error.reason && x.error.offset === y.error.offset;
  }
  return x.status === y.status;
}

/** Encodes a parsed header again; a padding NOOP (its value is not kept) is rebuilt with padTo. */
function reencode(h: ProxyHeader, padTo?: number): Buffer {
  if (h.version === 1) return encodeProxyHeaderV1(h);
  if (padTo === undefined) return encodeProxyHeaderV2(h);
  return encodeProxyHeaderV2({ ...h, tlvs: { ...h.tlvs, noop: h.tlvs.noop - 1 } }, { padTo });
}

const withoutCrcValue = (h: ProxyHeader): unknown => ({ ...h, tlvs: { ...h.tlvs, crc32c: h.tlvs.crc32c && "present" } });

/** Invariants that hold for any input (valid samples get the stricter round trip instead of the stability check). */
function checkAny(input: Buffer, max: number, fed: Fed, stability: boolean): void {
  check(fed.maxBuffered <= max, "buffered more than maxHeaderBytes", fed.maxBuffered, max);
  const r = fed.result;
  if (r.status === "error") {
    const e = r.error;
    check(e instanceof ProxyProtocolError && PARSE_CODES.has(e.code) && e.name === e.constructor.name, "untyped error", e);
  } else if (r.status === "done") {
    check(r.headerBytes <= Math.min(max, input.length), "header longer than allowed", r.headerBytes);
    check(fed.rest.equals(input.subarray(r.headerBytes)), "rest is not the unconsumed bytes");
    // Stable: what we parsed re-encodes to a header that parses the same (UNIX paths may hold invalid UTF-8).
    if (stability && r.header.family !== "UNIX") {
      const r2 = parseProxyHeader(reencode(r.header), { maxHeaderBytes: 65551 });
      check(r2.status === "done" && isDeepStrictEqual(withoutCrcValue(r2.header), withoutCrcValue(r.header)), "re-encoding differs", r.header, r2);
    }
  } else {
    check(r.status === "need-more", "unknown status", r);
  }
}

test(`fuzz: ${RUNS} random, mutated and valid headers`, () => {
  const started = Date.now();
  const seen = { valid: 0, mutated: 0, random: 0, done: 0, error: 0, "need-more": 0 };
  fc.assert(
    fc.property(sample, maxHeaderBytes, cuts, (s, max, at) => {
      const input = s.kind === "valid" ? s.sample.bytes : s.input;
      const limit = s.kind === "valid" ? 4096 : max;
      const fed = feed(whole(input), { maxHeaderBytes: limit });
      seen[s.kind]++;
      seen[fed.result.status]++;
      checkAny(input, limit, fed, s.kind !== "valid");
      const split = feed(chunk(input, at), { maxHeaderBytes: limit });
      check(split.maxBuffered <= limit, "split: buffered more than maxHeaderBytes");
      check(sameOutcome(split, fed), "chunking changed the outcome", split.result, fed.result);
      if (s.kind !== "valid") return;
      const r = fed.result;
      check(r.status === "done" && isDeepStrictEqual(r.header, expectedHeader(s.sample)), "valid header", r, expectedHeader(s.sample));
      if (r.status === "done") check(reencode(r.header, s.sample.padTo).equals(input), "round trip", input);
    }),
    { numRuns: RUNS, seed: SEED },
  );
  const ms = Date.now() - started;
  console.log(`proxy-protocol fuzz: ${RUNS} cases in ${ms} ms ${JSON.stringify(seen)}`);
  expect(seen.valid + seen.mutated + seen.random).toBeGreaterThanOrEqual(RUNS);
}, 300_000);
