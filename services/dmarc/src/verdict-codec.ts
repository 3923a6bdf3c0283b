/**
 * DmarcVerdicts (the verdict stream's message and ReportDmarcBatch's request)
 * encoded in one pass into one Buffer, byte for byte what the generated
 * DmarcVerdicts.encode writes (verdict-codec.test.ts): string fields in field
 * order, empty ones and a zero status left out. The generic writer started each
 * batch with a 128-byte buffer that grew (copying) past the Authentication-Results
 * text and went through TextEncoder for every string over 32 characters: a tenth
 * of the service's CPU under the pipeline benchmark. Here the sizes come first,
 * then the bytes are written once.
 *
 * DmarcCallbackClient is the generated EdgeCallback client with this
 * serializer for the two batch methods; everything else is unchanged.
 */
import { makeGenericClientConstructor } from "@grpc/grpc-js";
import { type DkimSignatureResult, type DmarcVerdict, DmarcVerdicts, type EdgeCallbackClient, EdgeCallbackService } from "@postern/proto";

/** Bytes of a uint32 as a varint. */
function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function putVarint(buf: Buffer, pos: number, n: number): number {
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/**
 * UTF-8 lengths of the strings in the order they are written (sizes pass),
 * read back by the write pass. The encoder is synchronous, so one array serves.
 */
let lens: number[] = [];
let next = 0;

/** Size of a string field (tag, length, bytes); 0 when empty (left out). */
function sizeString(s: string): number {
  if (s === "") return 0;
  const n = Buffer.byteLength(s, "utf8");
  lens.push(n);
  return 1 + varintSize(n) + n;
}

function putString(buf: Buffer, pos: number, tag: number, s: string): number {
  if (s === "") return pos;
  const n = lens[next++] as number;
  buf[pos++] = tag;
  pos = putVarint(buf, pos, n);
  // As many bytes as characters: all ASCII (any other character takes more). Short strings are
  // copied here; Buffer#write validates its arguments at a cost comparable to the copy.
  if (n === s.length && n <= 256) {
    for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
    return pos + n;
  }
  return pos + buf.write(s, pos, n, "utf8");
}

function sizeDkim(d: DkimSignatureResult): number {
  return sizeString(d.domain) + sizeString(d.selector) + sizeString(d.result) + sizeString(d.reason);
}

/** Size of a verdict's fields; the nested DKIM results' sizes are pushed to `lens` after their strings. */
function sizeVerdict(v: DmarcVerdict): number {
  let size = sizeString(v.txnId);
  const status: number = v.status;
  if (status !== 0) size += 1 + varintSize(status);
  size += sizeString(v.statusText) + sizeString(v.usedDomain) + sizeString(v.domainPolicy) + sizeString(v.arHeader);
  for (const d of v.dkim) {
    const slot = lens.push(0) - 1;
    const n = sizeDkim(d);
    lens[slot] = n;
    size += 1 + varintSize(n) + n;
  }
  return size + sizeString(v.result) + sizeString(v.authorDomain) + sizeString(v.mode);
}

function putVerdict(buf: Buffer, pos: number, v: DmarcVerdict): number {
  pos = putString(buf, pos, 10, v.txnId);
  const status: number = v.status;
  if (status !== 0) {
    buf[pos++] = 16;
    pos = putVarint(buf, pos, status);
  }
  pos = putString(buf, pos, 26, v.statusText);
  pos = putString(buf, pos, 34, v.usedDomain);
  pos = putString(buf, pos, 42, v.domainPolicy);
  pos = putString(buf, pos, 50, v.arHeader);
  for (const d of v.dkim) {
    buf[pos++] = 58;
    pos = putVarint(buf, pos, lens[next++] as number);
    pos = putString(buf, pos, 10, d.domain);
    pos = putString(buf, pos, 18, d.selector);
    pos = putString(buf, pos, 26, d.result);
    pos = putString(buf, pos, 34, d.reason);
  }
  pos = putString(buf, pos, 66, v.result);
  pos = putString(buf, pos, 74, v.authorDomain);
  return putString(buf, pos, 82, v.mode);
}

/** A status the fast path writes as the generic writer does: a uint32 varint (negative int32s take 10 bytes there). */
function plainStatus(v: DmarcVerdict): boolean {
  const status: number = v.status;
  return Number.isInteger(status) && status >= 0 && status <= 0x7fffffff;
}

export function encodeDmarcVerdicts(message: DmarcVerdicts): Buffer {
  const verdicts = message.verdicts;
  if (!verdicts.every(plainStatus)) return Buffer.from(DmarcVerdicts.encode(message).finish());
  lens = [];
  let total = 0;
  for (const v of verdicts) {
    const slot = lens.push(0) - 1;
    const n = sizeVerdict(v);
    lens[slot] = n;
    total += 1 + varintSize(n) + n;
  }
  const buf = Buffer.allocUnsafe(total);
  next = 0;
  let pos = 0;
  for (const v of verdicts) {
    buf[pos++] = 10;
    pos = putVarint(buf, pos, lens[next++] as number);
    pos = putVerdict(buf, pos, v);
  }
  lens = [];
  return buf;
}

/** The EdgeCallback client whose verdict batches and stream messages are written by encodeDmarcVerdicts. */
export const DmarcCallbackClient = makeGenericClientConstructor(
  {
    ...EdgeCallbackService,
    reportDmarcBatch: { ...EdgeCallbackService.reportDmarcBatch, requestSerialize: encodeDmarcVerdicts },
    streamDmarcVerdicts: { ...EdgeCallbackService.streamDmarcVerdicts, requestSerialize: encodeDmarcVerdicts },
  },
  "postern.v1.EdgeCallback",
) as unknown as typeof EdgeCallbackClient;
