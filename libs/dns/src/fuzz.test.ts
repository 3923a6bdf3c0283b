/**
 * Property test (issue 14, fuzzing in CI): what a DNS server sends back is
 * hostile input. Random bytes and damaged valid responses never make the
 * response path throw (decodeMessage, matchesQuery, classify and the record
 * views the lookups use), every decoded message classifies to one of the
 * outcome kinds, and valid responses classify to the records they carry.
 * The per-message work bound is checked structurally, not by timing: every
 * message the pre-decode screen (screen.ts) accepts has names within the hop
 * and work limits and is walked by dns-packet exactly as the screen walked it,
 * and the pathological shapes (pointer chains, loops and forward pointers,
 * long names re-read by thousands of records, counts that cannot fit), plain
 * or damaged, are refused or stay within those limits.
 * POSTERN_FUZZ_RUNS sets the number of cases (default 100000),
 * POSTERN_FUZZ_SEED replays a failure. The checks are plain comparisons, not
 * expect(): at 100,000 cases jest's matchers cost more than the parser.
 */
import { inspect, isDeepStrictEqual } from "node:util";
import * as packet from "dns-packet";
import * as fc from "fast-check";
import { classify } from "./classify";
import { DnsErrorCode } from "./errors";
import { decodeMessage, matchesQuery } from "./message";
import { addressOf, mapOutcome, mxOf, ptrOf, tlsaOf, txtOf } from "./records";
import { MAX_POINTER_HOPS, NAME_WORK_BASE, NAME_WORK_PER_OCTET, screenMessage } from "./screen";
import { forwardPointer, labelFloodAnswer, manyRecordsClaim, pointerChainAnswer, pointerCycle, pointerLoop } from "./testing/hostile";
import type { DnsRecord, Outcome, Query } from "./types";

const RUNS = Number(process.env.POSTERN_FUZZ_RUNS ?? 100_000);
const SEED = process.env.POSTERN_FUZZ_SEED === undefined ? undefined : Number(process.env.POSTERN_FUZZ_SEED);
const KINDS = new Set(["answer", "nxdomain", "nodata", "servfail", "refused", "error"]);
const CODES = new Set<string>(Object.values(DnsErrorCode));

function check(ok: boolean, what: string, ...details: unknown[]): void {
  if (!ok) throw new Error(`${what}: ${details.map((d) => inspect(d, { depth: 5, maxStringLength: 300 })).join(" / ")}`);
}

// ---- valid responses ------------------------------------------------------------------------

const QTYPES = ["A", "AAAA", "MX", "TXT", "PTR", "TLSA", "CNAME", "NS"] as const;
type QType = (typeof QTYPES)[number];

const label = fc.string({ unit: fc.constantFrom(..."abcXYZ019-_"), minLength: 1, maxLength: 10 });
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join("."));
const ttl = fc.oneof(fc.nat({ max: 86_400 }), fc.constantFrom(0, 0x7fffffff, 0x80000000, 0xffffffff));
const ipv4 = fc.ipV4();
const ipv6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((ws) => ws.map((w) => w.toString(16)).join(":"));
const txt = fc.array(fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)), { minLength: 1, maxLength: 3 });

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 };
const sameText = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** An IPv6 address as 8 full groups, so differently compressed forms compare equal. */
function expand6(a: string): string {
  const [head = "", tail] = a.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.map((g) => g.padStart(4, "0").toLowerCase()).join(":");
}
const normal = (v: unknown): unknown => (typeof v === "string" && v.includes(":") ? expand6(v) : v);

/** The record data for `type` and what the matching record view must return for it. */
function rdata(type: QType): fc.Arbitrary<{ data: unknown; view: unknown }> {
  switch (type) {
    case "A":
      return ipv4.map((a) => ({ data: a, view: a }));
    case "AAAA":
      return ipv6.map((a) => ({ data: a, view: a }));
    case "MX":
      return fc.tuple(fc.integer({ min: 0, max: 0xffff }), name).map(([preference, exchange]) => ({ data: { preference, exchange }, view: { preference, exchange } }));
    case "TXT":
      return txt.map((parts) => ({ data: parts, view: parts.map((p) => p.toString("latin1")) }));
    case "PTR":
      return name.map((n) => ({ data: n, view: n }));
    case "CNAME":
    case "NS":
      // no record view for these: the lookups never ask for them
      return name.map((n) => ({ data: n, view: undefined }));
    case "TLSA":
      return fc
        .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 }))
        .map(([usage, selector, matchingType, c]) => ({
          data: { usage, selector, matchingType, certificate: Buffer.from(c) },
          view: { usage, selector, matchingType, data: Buffer.from(c) },
        }));
  }
}

interface ValidCase {
  query: Query;
  id: number;
  bytes: Buffer;
  /** what classify() must say */
  want: { kind: string; ttl?: number; views?: unknown[]; authenticated?: boolean };
}

/** A response built to a plan: an answer (directly or through one CNAME), NXDOMAIN or NODATA with a SOA, or a failure rcode. */
const validCase: fc.Arbitrary<ValidCase> = fc
  .tuple(
    fc.constantFrom(...QTYPES.filter((t) => t !== "CNAME")),
    name,
    fc.integer({ min: 0, max: 0xffff }),
    fc.constantFrom("answer", "cname", "nxdomain", "nodata", "SERVFAIL", "REFUSED", "FORMERR"),
    fc.boolean(),
    ttl,
    name,
    fc.tuple(ttl, ttl),
  )
  .chain(([type, qname, id, plan, ad, cnameTtl, target, [soaTtl, minimum]]) =>
    fc.array(fc.tuple(rdata(type), ttl), { minLength: 1, maxLength: 4 }).map(([...rrs]): ValidCase => {
      const query: Query = { name: qname, type };
      const flags = packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (ad ? packet.AUTHENTIC_DATA : 0);
      const soa = { type: "SOA", name: qname, ttl: soaTtl, data: { mname: "ns.example", rname: "h.example", serial: 1, refresh: 1, retry: 1, expire: 1, minimum } };
      const clamp = (t: number): number => (t > 0x7fffffff ? 0 : t);
      let answers: unknown[] = [];
      let authorities: unknown[] = [];
      let rcode = "NOERROR";
      let want: ValidCase["want"];
      const owner = plan === "cname" ? target : qname;
      const records = rrs.map(([r, t]) => ({ type, name: owner, ttl: t, class: "IN", data: r.data }));
      const viewTtl = Math.min(...rrs.map(([, t]) => clamp(t)));
      switch (plan) {
        case "answer":
          answers = records;
          want = { kind: "answer", ttl: viewTtl, views: rrs.map(([r]) => r.view), authenticated: ad };
          break;
        case "cname":
          answers = [{ type: "CNAME", name: qname, ttl: cnameTtl, data: target }, ...records];
          // a target equal to the query name owns the records itself: no CNAME hop is taken
          want = { kind: "answer", ttl: sameText(target, qname) ? viewTtl : Math.min(viewTtl, clamp(cnameTtl)), views: rrs.map(([r]) => r.view), authenticated: ad };
          break;
        case "nxdomain":
          rcode = "NXDOMAIN";
          authorities = [soa];
          want = { kind: "nxdomain", ttl: Math.min(clamp(soaTtl), minimum), authenticated: ad };
          break;
        case "nodata":
          authorities = [soa];
          want = { kind: "nodata", ttl: Math.min(clamp(soaTtl), minimum), authenticated: ad };
          break;
        default:
          rcode = plan;
          want = { kind: plan === "SERVFAIL" ? "servfail" : plan === "REFUSED" ? "refused" : "error" };
      }
      const bytes = packet.encode({
        type: "response",
        id,
        flags: flags | (RCODES[rcode] ?? 0),
        questions: [{ name: qname, type, class: "IN" }],
        answers,
        authorities,
        additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: packet.DNSSEC_OK, extendedRcode: 0, ednsVersion: 0, options: [] }],
      } as unknown as packet.Packet);
      return { query, id, bytes, want };
    }),
  );

/** Byte-level damage: flips, overwritten length and pointer octets, truncation, inserted and deleted runs. */
const damage = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 }), fc.constantFrom(0x00, 0xc0, 0xc0 | 0x0c, 0x3f, 0xff, 0x01, 0x80)), { minLength: 1, maxLength: 4 });
function mutate(input: Buffer, ms: readonly [number, number, number][]): Buffer {
  let b = Buffer.from(input);
  for (const [at, kind, byte] of ms) {
    const i = b.length === 0 ? 0 : at % b.length;
    if (kind === 0 && i < b.length) b[i] = (b[i] as number) ^ (1 << at % 8);
    else if (kind === 1 && i < b.length) b[i] = byte;
    else if (kind === 2) b = b.subarray(0, i);
    else if (kind === 3) b = Buffer.concat([b.subarray(0, i), Buffer.from([byte, at & 0xff]), b.subarray(i)]);
    else b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + (at % 9))]);
  }
  return b;
}

/** Shapes that cost dns-packet up to seconds, and the reason the screen must give for each. */
const hostileShape: fc.Arbitrary<{ bytes: Buffer; refused: RegExp }> = fc.oneof(
  // a chain longer than the hop limit, re-read by 1 to 100 records
  fc.tuple(fc.integer({ min: MAX_POINTER_HOPS, max: 8_000 }), fc.integer({ min: 1, max: 100 }), fc.nat({ max: 0xffff })).map(([links, records, id]) => ({ bytes: pointerChainAnswer(links, records, id), refused: /compression pointer hops/ })),
  // a 126-label name re-read by enough records to pass the work budget (10 is the fewest;
  // the table tests in screen.test.ts have the full 64 KB one)
  fc.tuple(fc.integer({ min: 10, max: 600 }), fc.nat({ max: 0xffff })).map(([records, id]) => ({ bytes: labelFloodAnswer(records, id), refused: /label reads and pointer hops/ })),
  fc.tuple(fc.integer({ min: 7, max: 0xffff }), fc.nat({ max: 0xffff })).map(([count, id]) => ({ bytes: manyRecordsClaim(count, id), refused: /cannot fit/ })),
  fc.constantFrom(pointerLoop, pointerCycle, forwardPointer).map((make) => ({ bytes: make(), refused: /does not decode/ })),
);

type Sample =
  | { kind: "valid"; c: ValidCase }
  | { kind: "mutated"; c: ValidCase; bytes: Buffer }
  | { kind: "random"; bytes: Buffer; query: Query }
  | { kind: "hostile"; bytes: Buffer; refused: RegExp | undefined };
const sample: fc.Arbitrary<Sample> = fc.oneof(
  { weight: 3, arbitrary: validCase.map((c): Sample => ({ kind: "valid", c })) },
  { weight: 6, arbitrary: fc.tuple(validCase, damage).map(([c, d]): Sample => ({ kind: "mutated", c, bytes: mutate(c.bytes, d) })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...QTYPES), name)
      .map(([u, type, n]): Sample => ({ kind: "random", bytes: Buffer.from(u), query: { name: n, type } })),
  },
  {
    // rare: each is up to 64 KB. Damaged ones may pass the screen; then they must be within its bounds.
    weight: 1,
    arbitrary: fc
      .tuple(hostileShape, fc.option(damage, { freq: 2 }))
      .map(([h, d]): Sample => ({ kind: "hostile", bytes: d === null ? h.bytes : mutate(h.bytes, d), refused: d === null ? h.refused : undefined })),
  },
);

/**
 * The structural time bound: a message is either refused by the screen before dns-packet
 * sees it, or its names are within the hop and work limits and dns-packet walks exactly the
 * records the screen walked (so no name escaped the screen). Returns the refusal reason.
 */
function checkScreen(bytes: Buffer): string | undefined {
  const s = screenMessage(bytes);
  if (!s.ok) {
    check(decodeMessage(bytes) === null, "a refused message decoded", s.reason);
    return s.reason;
  }
  check(s.maxHops <= MAX_POINTER_HOPS, "hops over the limit", s);
  check(s.work <= NAME_WORK_BASE + NAME_WORK_PER_OCTET * bytes.length, "name work over the budget", s, bytes.length);
  let consumed: number | undefined;
  try {
    packet.decode(bytes);
    consumed = (packet.decode as unknown as { bytes: number }).bytes;
  } catch {
    // dns-packet refuses it on other grounds (a DNSKEY protocol octet, a TXT overrun): fine
  }
  check(consumed === undefined || consumed === s.end, "dns-packet and the screen walked different records", consumed, s.end);
  return undefined;
}

/** Every view the lookups apply to an outcome. */
function views(outcome: Outcome<DnsRecord>): unknown[] {
  const out: unknown[] = [];
  const maps: Array<(r: DnsRecord) => unknown> = [addressOf, mxOf, ptrOf, tlsaOf, txtOf];
  for (const map of maps) {
    const mapped = mapOutcome(outcome, map);
    if (mapped.kind === "answer") out.push(...mapped.records);
  }
  return out;
}

/** Invariants for any bytes: no throw, a known outcome kind, answers only of the asked type. */
function checkAny(bytes: Buffer, query: Query, id: number): Outcome<DnsRecord> | null {
  const msg = decodeMessage(bytes);
  if (msg === null) return null;
  // a hostile message is matched and classified whatever it claims to answer
  matchesQuery(msg, id, query);
  const outcome = classify(query, msg, 8);
  check(KINDS.has(outcome.kind), "unknown outcome kind", outcome);
  if (outcome.kind === "error") check(CODES.has(outcome.code) && typeof outcome.reason === "string", "error outcome", outcome);
  if (outcome.kind === "answer" || outcome.kind === "nxdomain" || outcome.kind === "nodata") {
    check(Number.isFinite(outcome.ttl) && outcome.ttl >= 0 && outcome.ttl <= 0x7fffffff, "ttl out of range", outcome.ttl);
  }
  if (outcome.kind === "answer") {
    check(outcome.records.length > 0 && outcome.records.every((r) => r.type === query.type), "answer records", outcome.records, query);
    views(outcome);
  }
  return outcome;
}

test(`fuzz: ${RUNS} random, damaged and valid DNS responses`, () => {
  const started = Date.now();
  const seen = { valid: 0, mutated: 0, random: 0, hostile: 0, screened: 0, undecodable: 0, answer: 0, nxdomain: 0, nodata: 0, servfail: 0, refused: 0, error: 0, timeout: 0 };
  fc.assert(
    fc.property(sample, (s) => {
      seen[s.kind]++;
      const refusal = checkScreen(s.kind === "valid" ? s.c.bytes : s.bytes);
      if (refusal !== undefined) seen.screened++;
      if (s.kind === "hostile") {
        if (s.refused !== undefined) check(refusal !== undefined && s.refused.test(refusal), "a hostile shape was not refused as expected", refusal, s.refused);
        else checkAny(s.bytes, { name: ".", type: "A" }, 0x1234);
        return;
      }
      const outcome = s.kind === "random" ? checkAny(s.bytes, s.query, 0) : checkAny(s.kind === "valid" ? s.c.bytes : s.bytes, s.c.query, s.c.id);
      if (outcome === null) {
        seen.undecodable++;
        check(s.kind !== "valid", "a valid response did not decode");
        return;
      }
      seen[outcome.kind]++;
      if (s.kind !== "valid") return;
      const { c } = s;
      const msg = decodeMessage(c.bytes);
      check(msg !== null && matchesQuery(msg, c.id, c.query), "a valid response does not match its query", msg);
      check(msg !== null && !matchesQuery(msg, (c.id + 1) & 0xffff, c.query), "a response matched another query id");
      const w = c.want;
      check(outcome.kind === w.kind, "outcome kind", outcome, w);
      if ("ttl" in outcome && w.ttl !== undefined) check(outcome.ttl === w.ttl, "ttl", outcome, w);
      if ("authenticated" in outcome && w.authenticated !== undefined) check(outcome.authenticated === w.authenticated, "AD bit", outcome, w);
      if (outcome.kind === "answer" && w.views !== undefined) {
        const got = views(outcome).map(normal);
        const want = w.views.filter((v) => v !== undefined).map(normal);
        check(isDeepStrictEqual(got, want), "record data", got, want);
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
  console.log(`dns fuzz: ${RUNS} cases in ${Date.now() - started} ms ${JSON.stringify(seen)}`);
  expect(seen.valid + seen.mutated + seen.random + seen.hostile).toBeGreaterThanOrEqual(RUNS);
}, 1_200_000);
