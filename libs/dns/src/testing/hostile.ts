/**
 * Hostile DNS response shapes for tests of the pre-decode screen (screen.ts): messages that
 * are valid enough for dns-packet to decode but cost it hundreds of milliseconds to seconds,
 * and the classic malformed ones (pointer loops, forward pointers, impossible counts).
 */

const HEADER_QR = 0x8180; // response, RD, RA, NOERROR

function header(id: number, qd: number, an: number, ns = 0, ar = 0): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(HEADER_QR, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

/** A record header after a 2-octet pointer owner: type, class IN, ttl 0, rdlength. */
function record(owner: number, type: number, rdata: Buffer): Buffer {
  const r = Buffer.alloc(12);
  r.writeUInt16BE(0xc000 | owner, 0);
  r.writeUInt16BE(type, 2);
  r.writeUInt16BE(1, 4);
  r.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([r, rdata]);
}

const pointer = (to: number): Buffer => Buffer.from([0xc0 | (to >> 8), to & 0xff]);
const MAX = 0xffff;

/**
 * A 64 KB answer: a NULL record whose data is a chain of `links` compression pointers, each
 * pointing at the one before it (every pointer strictly backwards, so dns-packet accepts
 * it), then as many CNAME records as fit, owner and target both pointing at the chain's last
 * link (at most `maxRecords` of them). Each name costs dns-packet `links` hops. Pointers
 * carry 14 bits, so the chain must end below offset 16,384: 8,000 links is about the worst
 * split of 64 KB.
 */
export function pointerChainAnswer(links = 8_000, maxRecords = Infinity, id = 0x1234): Buffer {
  const question = Buffer.from([0, 0, 1, 0, 1]); // ". A IN" at offset 12
  const nullHead = Buffer.from([0, 0, 10, 0, 1, 0, 0, 0, 0, 0, 0]); // owner ".", NULL, IN, ttl 0, rdlength below
  nullHead.writeUInt16BE(2 * links, 9);
  const start = 12 + question.length + nullHead.length;
  if (start + 2 * links > 0x4000) throw new RangeError(`a chain of ${links} links does not fit below offset 16384`);
  const chain = Buffer.alloc(2 * links);
  for (let i = 0; i < links; i++) chain.writeUInt16BE(0xc000 | (i === 0 ? 12 : start + 2 * (i - 1)), 2 * i);
  const last = start + 2 * (links - 1);
  const records: Buffer[] = [];
  let size = start + chain.length;
  while (size + 14 <= MAX && records.length < maxRecords) {
    records.push(record(last, 5, pointer(last)));
    size += 14;
  }
  return Buffer.concat([header(id, 1, 1 + records.length), question, nullHead, chain, ...records]);
}

/**
 * A 64 KB answer whose question is a 126-label name (253 octets) and whose CNAME records,
 * as many as fit (at most `maxRecords`), all point at it as owner and target: no chain at
 * all, but every record makes dns-packet read 2 x 126 labels again.
 */
export function labelFloodAnswer(maxRecords = Infinity, id = 0x1234): Buffer {
  const labels: number[] = [];
  for (let i = 0; i < 126; i++) labels.push(1, 0x61);
  const question = Buffer.from([...labels, 0, 0, 1, 0, 1]);
  const records: Buffer[] = [];
  let size = 12 + question.length;
  while (size + 14 <= MAX && records.length < maxRecords) {
    records.push(record(12, 5, pointer(12)));
    size += 14;
  }
  return Buffer.concat([header(id, 1, records.length), question, ...records]);
}

/** A short message that claims `count` answer records (10,000 cannot fit 64 KB at 11 octets each). */
export function manyRecordsClaim(count = 10_000, id = 0x1234): Buffer {
  return Buffer.concat([header(id, 1, count), Buffer.from([0, 0, 1, 0, 1]), Buffer.alloc(64)]);
}

/** As many real minimal records (root owner, NULL, no data) as fit in `size` octets. */
export function manyRecords(size = MAX, id = 0x1234): Buffer {
  const count = Math.floor((size - 17) / 11);
  const rr = Buffer.from([0, 0, 10, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header(id, 1, count), Buffer.from([0, 0, 1, 0, 1]), ...Array<Buffer>(count).fill(rr)]);
}

/** A question whose name is a pointer to itself. */
export function pointerLoop(id = 0x1234): Buffer {
  return Buffer.concat([header(id, 1, 0), pointer(12), Buffer.from([0, 1, 0, 1])]);
}

/** Two names pointing at each other: the question at the answer's owner and back. */
export function pointerCycle(id = 0x1234): Buffer {
  // question name at 12: pointer to 18 (the answer owner), which points back at 12
  return Buffer.concat([header(id, 1, 1), pointer(18), Buffer.from([0, 1, 0, 1]), pointer(12), Buffer.from([0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4])]);
}

/** A question name that points forward, at a valid name later in the message. */
export function forwardPointer(id = 0x1234): Buffer {
  // question at 12: pointer to 18; answer owner at 18: "a." then A record
  return Buffer.concat([header(id, 1, 1), pointer(18), Buffer.from([0, 1, 0, 1]), Buffer.from([1, 0x61, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4])]);
}
