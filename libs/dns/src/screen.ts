/**
 * Pre-decode screen for DNS responses: one linear pass over the bytes that bounds what
 * dns-packet will spend decoding them, or says why the message is refused.
 *
 * SECURITY: the bytes come from the network and are hostile. dns-packet (5.6) follows
 * compression pointers with no hop limit (it only requires each pointer to point before the
 * previous jump) and re-reads a name every time a record points at it, so a 64 KB answer of
 * pointer chains (each name a pointer to a pointer to ...) or of thousands of records all
 * pointing at a 127-label name costs it hundreds of milliseconds to seconds of CPU. This
 * screen runs first and refuses, before any decoding:
 *   - header counts that cannot fit the message (a question is ≥ 5 octets, a record ≥ 11),
 *     so "10,000 records" in a short message is refused without walking;
 *   - any offset in the message from which a name would take more than MAX_POINTER_HOPS
 *     pointer hops. This is computed for every offset, not only where names should be, so it
 *     also bounds each name dns-packet reads if its walk ever drifted from ours;
 *   - names that do not decode (overflow, reserved label types, pointers that do not point
 *     strictly before the current segment, more than MAX_NAME_OCTETS in wire form);
 *   - more name work in total (labels read + pointer hops, over every name dns-packet will
 *     read) than NAME_WORK_BASE + NAME_WORK_PER_OCTET per message octet;
 *   - record data whose length dns-packet would not consume exactly. dns-packet sizes some
 *     types by their content, not by RDLENGTH (A is always 4 octets, MX ends where its name
 *     ends, ...); a record that disagrees would shift dns-packet onto bytes we never
 *     screened. decodeMessage also checks that dns-packet stopped where this walk did.
 * The walk mirrors dns-packet 5.6.1 (index.js: name.decode and the per-type decoders);
 * re-check it when upgrading dns-packet (the fuzz target in fuzz.test.ts asserts the two
 * walks agree).
 *
 * Cost: O(message length): two passes over reused typed arrays, then one walk over the
 * records that looks each name up instead of reading it.
 */

/** Pointer hops allowed from any offset (RFC 1035 4.1.4 sets none; real compressors use 1). */
export const MAX_POINTER_HOPS = 64;
/** A name in wire form, root octet included (RFC 1035 2.3.4). */
export const MAX_NAME_WIRE_OCTETS = 255;
/** Name work (labels read + pointer hops) allowed per message octet, plus a fixed base. */
export const NAME_WORK_PER_OCTET = 4;
export const NAME_WORK_BASE = 1024;

const HEADER = 12;
const MIN_QUESTION = 5; // root name + type + class
const MIN_RECORD = 11; // root name + type + class + ttl + rdlength

/** The screen's verdict: where dns-packet must stop and the work it will do, or a reason. */
export type Screen =
  | { readonly ok: true; readonly end: number; readonly work: number; readonly maxHops: number }
  | { readonly ok: false; readonly reason: string };

/** Name tables for every offset of a message, as dns-packet's name.decode would see them. */
interface Names {
  /** Offset of the 0 or pointer octet ending the labels read from here; -1: does not decode. */
  readonly term: Int32Array;
  /** Pointer hops from here, counted whether or not the name ends up decoding. */
  readonly hops: Int32Array;
  /** Label octets (length octet + text) of the whole name, capped; -1: does not decode. */
  readonly octets: Int32Array;
  /** Labels read + pointer hops for the whole name, capped. */
  readonly work: Int32Array;
}

const CAP = 0x3fffffff;
const TABLE_SLOTS = 0x10000;
// Scratch tables reused by every call (decoding is synchronous): every slot below the
// message length is written before it is read, so nothing needs clearing.
let scratch: Names | undefined;

function nameTables(b: Buffer): Names & { readonly maxHops: number } {
  const n = b.length;
  const size = Math.max(n, TABLE_SLOTS);
  if (scratch === undefined || scratch.term.length < size) {
    scratch = { term: new Int32Array(size), hops: new Int32Array(size), octets: new Int32Array(size), work: new Int32Array(size) };
  }
  const { term, hops, octets, work } = scratch;
  // Backwards: the labels from each offset up to the 0 or pointer ending them (labels only
  // lead forward, so every "next" is already known). octets/work hold this segment only.
  for (let i = n - 1; i >= 0; i--) {
    const len = b[i] as number;
    octets[i] = 0;
    work[i] = 0;
    if (len === 0) term[i] = i;
    else if ((len & 0xc0) === 0xc0) term[i] = i + 1 < n ? i : -1;
    else if ((len & 0xc0) !== 0) term[i] = -1; // 0x40 / 0x80: reserved label types
    else {
      const next = i + 1 + len;
      if (next >= n || term[next] === -1) term[i] = -1;
      else {
        term[i] = term[next] as number;
        octets[i] = Math.min(CAP, 1 + len + (octets[next] as number));
        work[i] = Math.min(CAP, 1 + (work[next] as number));
      }
    }
  }
  // Forwards: a name starting here continues at a pointer target strictly before here
  // (dns-packet refuses any other pointer), whose whole-name entries are already final.
  let maxHops = 0;
  for (let s = 0; s < n; s++) {
    const t = term[s] as number;
    hops[s] = 0;
    if (t < 0) {
      octets[s] = -1;
      continue;
    }
    if (b[t] === 0) {
      if ((octets[s] as number) >= MAX_NAME_WIRE_OCTETS) octets[s] = -1;
      continue;
    }
    const j = ((b[t] as number) & 0x3f) * 256 + (b[t + 1] as number);
    if (j >= s) {
      octets[s] = -1; // dns-packet: "bad pointer", after reading this segment only
      continue;
    }
    const h = 1 + (hops[j] as number);
    hops[s] = h;
    if (h > maxHops) maxHops = h;
    work[s] = Math.min(CAP, (work[s] as number) + 1 + (work[j] as number));
    const o = octets[j] as number;
    octets[s] = o < 0 || o + (octets[s] as number) >= MAX_NAME_WIRE_OCTETS ? -1 : o + (octets[s] as number);
  }
  return { ...scratch, maxHops };
}

class Refused extends Error {}

/** Screens one message; see the SECURITY note above for what is refused and why. */
export function screenMessage(b: Buffer): Screen {
  const n = b.length;
  if (n < HEADER) return { ok: false, reason: "shorter than a header" };
  const qd = b.readUInt16BE(4);
  const rr = b.readUInt16BE(6) + b.readUInt16BE(8) + b.readUInt16BE(10);
  if (qd * MIN_QUESTION + rr * MIN_RECORD > n - HEADER) return { ok: false, reason: `${qd} questions and ${rr} records cannot fit ${n} octets` };
  const t = nameTables(b);
  if (t.maxHops > MAX_POINTER_HOPS) return { ok: false, reason: `a name takes ${t.maxHops} compression pointer hops (limit ${MAX_POINTER_HOPS})` };
  const budget = NAME_WORK_BASE + NAME_WORK_PER_OCTET * n;
  let work = 0;
  const fail = (reason: string): never => {
    throw new Refused(reason);
  };
  /** A name dns-packet will decode at `at`; returns the offset after it. */
  const name = (at: number, limit: number): number => {
    if (at >= limit) fail(`name at ${at} outside its field`);
    const term = t.term[at] as number;
    if (term < 0 || (t.octets[at] as number) < 0) fail(`name at ${at} does not decode`);
    work += t.work[at] as number;
    if (work > budget) fail(`names need more than ${budget} label reads and pointer hops`);
    const after = term + (b[term] === 0 ? 1 : 2);
    if (after > limit) fail(`name at ${at} runs past its field`);
    return after;
  };
  /** A length-prefixed string (string.decode) inside record data. */
  const str = (at: number, end: number): number => {
    if (at >= end) fail(`string at ${at} outside its record`);
    return at + 1 + (b[at] as number);
  };
  /** dns-packet's typebitmap.decode, given 2 octets less than the bitmap holds (as NSEC and NSEC3 call it). */
  const bitmap = (at: number, end: number): number => {
    const length = end - at - 2;
    let used = 0;
    while (used < length) {
      if (at + used + 2 > end) fail(`type bitmap at ${at} overruns its record`);
      used += 2 + (b[at + used + 1] as number);
    }
    return at + used;
  };
  /** Checks the data of one record and that dns-packet consumes exactly RDLENGTH octets of it. */
  const rdata = (type: number, rd: number, end: number): void => {
    const len = end - rd;
    let stop = end;
    switch (type) {
      case 1: // A
        stop = rd + 4;
        break;
      case 28: // AAAA
        stop = rd + 16;
        break;
      case 2: // NS (dns-packet sizes it by RDLENGTH; RFC 1035 makes the name all of it)
      case 5: // CNAME
      case 12: // PTR
      case 39: // DNAME
        stop = name(rd, end);
        break;
      case 6: // SOA
        stop = name(name(rd, end), end) + 20;
        break;
      case 15: // MX
        stop = name(rd + 2, end);
        break;
      case 17: // RP
        stop = name(name(rd, end), end);
        break;
      case 33: // SRV
        stop = name(rd + 6, end);
        break;
      case 35: // NAPTR
        stop = name(str(str(str(rd + 4, end), end), end), end);
        break;
      case 13: // HINFO
        stop = str(str(rd, end), end);
        break;
      case 46: // RRSIG: signature runs to the end of the data
        if (len < 18) fail("RRSIG shorter than its fixed fields");
        name(rd + 18, end);
        break;
      case 47: // NSEC
        stop = bitmap(name(rd, end), end);
        break;
      case 50: {
        // NSEC3: fixed fields, salt, hash, then the bitmap
        const hash = str(rd + 4, end);
        const types = str(hash, end);
        if (types > end) fail("NSEC3 hash overruns its record");
        stop = bitmap(types, end);
        break;
      }
      case 43: // DS
      case 48: // DNSKEY
        if (len < 4) stop = rd + 4;
        break;
      case 52: // TLSA
        if (len < 3) stop = rd + 3;
        break;
      case 44: {
        // SSHFP: dns-packet reads a fingerprint of the size its hash type implies
        const size = len >= 2 ? ({ 1: 20, 2: 32 } as Record<number, number>)[b[rd + 1] as number] : undefined;
        stop = size === undefined ? -1 : rd + 2 + size;
        break;
      }
      case 41: {
        // OPT: options, each 4 octets + its length, must fill the data exactly
        let at = rd;
        while (at < end) at = at + 4 > end ? -1 : at + 4 + b.readUInt16BE(at + 2);
        stop = at;
        break;
      }
      // TXT: dns-packet consumes RDLENGTH or throws. NULL, CAA and unknown types: RDLENGTH.
    }
    if (stop < 0) fail(`type ${type} record data does not parse`);
    if (stop !== end) fail(`type ${type} record data is ${len} octets but its fields take ${stop - rd}`);
  };
  try {
    let at = HEADER;
    for (let i = 0; i < qd; i++) {
      at = name(at, n) + 4;
      if (at > n) fail("question truncated");
    }
    for (let i = 0; i < rr; i++) {
      at = name(at, n);
      if (at + 10 > n) fail("record header truncated");
      const rd = at + 10;
      const end = rd + b.readUInt16BE(at + 8);
      if (end > n) fail("record data truncated");
      rdata(b.readUInt16BE(at), rd, end);
      at = end;
    }
    return { ok: true, end: at, work, maxHops: t.maxHops };
  } catch (err) {
    if (err instanceof Refused) return { ok: false, reason: err.message };
    throw err;
  }
}
