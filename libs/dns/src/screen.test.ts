import * as packet from "dns-packet";
import { decodeMessage } from "./message";
import { MAX_POINTER_HOPS, NAME_WORK_BASE, NAME_WORK_PER_OCTET, screenMessage } from "./screen";
import { forwardPointer, labelFloodAnswer, manyRecords, manyRecordsClaim, pointerChainAnswer, pointerCycle, pointerLoop } from "./testing/hostile";

/** Wire bytes from a list of octets, strings (as raw ASCII) and nested arrays. */
type Part = number | string | Part[];
function wire(...parts: Part[]): Buffer {
  const out: number[] = [];
  const put = (p: Part): void => {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") for (const c of p) out.push(c.charCodeAt(0));
    else p.forEach(put);
  };
  parts.forEach(put);
  return Buffer.from(out);
}
const u16 = (v: number): number[] => [v >> 8, v & 0xff];
const ptr = (to: number): number[] => [0xc0 | (to >> 8), to & 0xff];
/** A name in uncompressed wire form, optionally ending in a pointer instead of the root. */
const name = (text: string, then?: number): Part[] => [...(text === "" ? [] : text.split(".").map((l) => [l.length, l])), ...(then === undefined ? [0] : ptr(then))];
const head = (qd: number, an: number, ns = 0, ar = 0): number[] => [...u16(0x4242), ...u16(0x8180), ...u16(qd), ...u16(an), ...u16(ns), ...u16(ar)];
/** A record: owner, type, class IN, ttl 60, data (rdlength computed unless given). */
function rr(owner: Part[], type: number, data: Part[], rdlength?: number): Part[] {
  const bytes = wire(...data);
  return [...owner, ...u16(type), ...u16(1), 0, 0, 0, 60, ...u16(rdlength ?? bytes.length), ...bytes];
}
const Q = 12; // offset of the question name
const question = (text: string, type = 15): Part[] => [...name(text), ...u16(type), ...u16(1)];

/** example.com MX, answered with compression as real resolvers do: owners and exchanges point back. */
const compressedMx = wire(
  head(1, 3),
  question("example.com"),
  rr(ptr(Q), 15, [...u16(10), ...name("mx1", Q)]), // exchange at offset 43: mx1 -> example.com
  rr(ptr(Q), 15, [...u16(20), ...name("a", 43)]), // a.mx1.example.com: two hops
  rr(ptr(Q), 15, [...u16(30), ...ptr(43)]), // the exchange is wholly a pointer
);

/** A CNAME chain answer with the target names compressed against each other. */
const compressedCname = wire(
  head(1, 2),
  question("www.example.com", 1),
  rr(ptr(Q), 5, name("cdn", Q + 4)), // cdn.example.com, at offset 45
  rr(ptr(45), 1, [192, 0, 2, 1]),
);

/** A 127-label name is 255 octets in wire form, the most RFC 1035 allows. */
const longest = Array.from({ length: 127 }, () => "a").join(".");
const tooLong = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62)].join(".");

const soa = (mname: Part[], rname: Part[], tail = 20): Part[] => [...mname, ...rname, ...Array<number>(tail).fill(0)];

interface Case {
  name: string;
  bytes: Buffer;
  /** undefined: accepted; otherwise a pattern the refusal reason must match */
  wantRefused?: RegExp;
}

const cases: Case[] = [
  { name: "compressed MX answer", bytes: compressedMx },
  { name: "compressed CNAME chain", bytes: compressedCname },
  { name: "dns-packet's own encoding", bytes: packet.encode({ type: "response", id: 1, questions: [{ name: "example.com", type: "TXT" }], answers: [{ type: "TXT", name: "example.com", data: ["v=spf1 -all"] }] }) },
  { name: "SOA in authority, names compressed", bytes: wire(head(1, 0, 1), question("nx.example.com"), rr(ptr(Q + 3), 6, soa(name("ns", Q + 3), name("hostmaster", Q + 3)))) },
  { name: "longest name (255 octets)", bytes: wire(head(1, 0), question(longest)) },
  { name: "10,000 records claimed", bytes: manyRecordsClaim(10_000), wantRefused: /cannot fit/ },
  { name: "65535 answers claimed in a header", bytes: wire(head(0, 0xffff)), wantRefused: /cannot fit/ },
  { name: "as many minimal records as fit 64 KB", bytes: manyRecords() },
  { name: "pointer loop", bytes: pointerLoop(), wantRefused: /does not decode/ },
  { name: "pointer cycle", bytes: pointerCycle(), wantRefused: /does not decode/ },
  { name: "forward pointer", bytes: forwardPointer(), wantRefused: /does not decode/ },
  { name: "pointer to the header's flags octet", bytes: wire(head(1, 0), ptr(2), u16(1), u16(1)), wantRefused: /does not decode/ },
  { name: "pointer to a zero octet of the header (the root name)", bytes: wire(head(1, 0), ptr(4), u16(1), u16(1)) },
  { name: "reserved label type 0x40", bytes: wire(head(1, 0), 0x41, "a", 0, u16(1), u16(1)), wantRefused: /does not decode/ },
  { name: "name over 255 octets", bytes: wire(head(1, 0), question(tooLong)), wantRefused: /does not decode/ },
  { name: "64 KB pointer chain (8,000 links)", bytes: pointerChainAnswer(), wantRefused: /8001 compression pointer hops/ },
  { name: `chain of ${MAX_POINTER_HOPS} hops`, bytes: pointerChainAnswer(MAX_POINTER_HOPS - 1, 1) },
  { name: `chain of ${MAX_POINTER_HOPS + 1} hops`, bytes: pointerChainAnswer(MAX_POINTER_HOPS, 1), wantRefused: /65 compression pointer hops/ },
  { name: "a long name re-read by every record of 64 KB", bytes: labelFloodAnswer(), wantRefused: /label reads and pointer hops/ },
  { name: "truncated question", bytes: wire(head(1, 0), name("example.com"), 0), wantRefused: /question truncated/ },
  { name: "record data past the end", bytes: wire(head(1, 1), question("a"), rr(ptr(Q), 1, [1, 2, 3, 4], 5)), wantRefused: /record data truncated/ },
  // dns-packet sizes these by content, not RDLENGTH: accepting them would shift its walk
  { name: "A with rdlength 0", bytes: wire(head(1, 2), question("a", 1), rr(ptr(Q), 1, []), rr(ptr(Q), 16, [1, "x"])), wantRefused: /type 1 record data is 0 octets/ },
  { name: "AAAA with rdlength 4", bytes: wire(head(1, 1), question("a", 28), rr(ptr(Q), 28, [1, 2, 3, 4])), wantRefused: /type 28/ },
  { name: "MX name past its rdlength", bytes: wire(head(1, 1), question("a"), rr(ptr(Q), 15, [...u16(1), ...name("mx")], 3)), wantRefused: /outside|runs past/ },
  { name: "CNAME with trailing octets", bytes: wire(head(1, 1), question("a", 5), rr(ptr(Q), 5, [...ptr(Q), 0])), wantRefused: /type 5/ },
  { name: "SOA missing its counters", bytes: wire(head(1, 0, 1), question("a"), rr(ptr(Q), 6, soa(ptr(Q), ptr(Q), 19))), wantRefused: /type 6/ },
  { name: "SSHFP with an unknown hash", bytes: wire(head(1, 1), question("a", 44), rr(ptr(Q), 44, [1, 9, 1, 2, 3])), wantRefused: /type 44/ },
  { name: "SSHFP SHA-256", bytes: wire(head(1, 1), question("a", 44), rr(ptr(Q), 44, [1, 2, ...Array<number>(32).fill(7)])) },
  { name: "OPT option overrunning", bytes: wire(head(1, 0, 0, 1), question("a"), rr([0], 41, [...u16(10), ...u16(8), 1, 2])), wantRefused: /type 41/ },
  { name: "OPT with one option", bytes: wire(head(1, 0, 0, 1), question("a"), rr([0], 41, [...u16(10), ...u16(2), 1, 2])) },
  { name: "NSEC with a bitmap", bytes: wire(head(1, 0, 1), question("a"), rr(ptr(Q), 47, [...ptr(Q), 0, 1, 0x40])) },
  { name: "NSEC bitmap with an empty last window", bytes: wire(head(1, 0, 1), question("a"), rr(ptr(Q), 47, [...ptr(Q), 0, 1, 0x40, 1, 0])), wantRefused: /type 47/ },
  { name: "NSEC3 salt past the data", bytes: wire(head(1, 0, 1), question("a"), rr(ptr(Q), 50, [1, 0, 0, 0, 9, 1])), wantRefused: /outside/ },
  { name: "RRSIG", bytes: wire(head(1, 1), question("a"), rr(ptr(Q), 46, [...Array<number>(18).fill(0), ...ptr(Q), 9, 9, 9])) },
  { name: "RRSIG signer past the data", bytes: wire(head(1, 1), question("a"), rr(ptr(Q), 46, [...Array<number>(18).fill(0)])), wantRefused: /outside/ },
  { name: "DS shorter than its fixed fields", bytes: wire(head(1, 1), question("a", 43), rr(ptr(Q), 43, [1, 2, 3])), wantRefused: /type 43/ },
  { name: "TLSA", bytes: wire(head(1, 1), question("_25._tcp.mx", 52), rr(ptr(Q), 52, [3, 1, 1, ...Array<number>(32).fill(1)])) },
  { name: "NAPTR", bytes: wire(head(1, 1), question("a", 35), rr(ptr(Q), 35, [...u16(1), ...u16(2), 1, "u", 3, "E2U", 0, ...ptr(Q)])) },
  { name: "unknown type with a pointer-looking payload", bytes: wire(head(1, 1), question("a", 99), rr(ptr(Q), 999, [0xc0, 0xff, 0xc0, 0xff])) },
];

describe("screenMessage", () => {
  it.each(cases)("$name", ({ bytes, wantRefused }) => {
    const s = screenMessage(bytes);
    if (wantRefused === undefined) {
      if (!s.ok) throw new Error(`refused: ${s.reason}`);
      // dns-packet decodes it and stops exactly where the screen's walk did
      packet.decode(bytes);
      expect((packet.decode as unknown as { bytes: number }).bytes).toBe(s.end);
      expect(s.work).toBeLessThanOrEqual(NAME_WORK_BASE + NAME_WORK_PER_OCTET * bytes.length);
      expect(s.maxHops).toBeLessThanOrEqual(MAX_POINTER_HOPS);
      expect(decodeMessage(bytes)).not.toBeNull();
    } else {
      expect(s).toEqual({ ok: false, reason: expect.stringMatching(wantRefused) as unknown });
      expect(decodeMessage(bytes)).toBeNull();
    }
  });

  const accepted = cases.filter((c) => c.wantRefused === undefined);

  it.each(accepted)("$name: an appended octet does not change where the walk ends", ({ bytes }) => {
    const s = screenMessage(bytes);
    const t = screenMessage(Buffer.concat([bytes, Buffer.from([0xc0])]));
    expect(t).toEqual(s);
  });

  it.each(accepted)("$name: every truncated prefix is refused without throwing", ({ bytes }) => {
    const step = Math.max(1, Math.floor(bytes.length / 400));
    for (let n = 0; n < bytes.length; n += step) expect(screenMessage(bytes.subarray(0, n)).ok).toBe(false);
  });

  it("decodes compressed answers to their full names", () => {
    const msg = decodeMessage(compressedMx);
    expect(msg?.answers?.map((a) => (a.type === "MX" ? a.data.exchange : undefined))).toEqual(["mx1.example.com", "a.mx1.example.com", "mx1.example.com"]);
    const cname = decodeMessage(compressedCname);
    expect(cname?.answers?.map((a) => [a.name, a.type])).toEqual([
      ["www.example.com", "CNAME"],
      ["cdn.example.com", "A"],
    ]);
  });

  it("counts the work of names re-read through pointers", () => {
    const s = screenMessage(compressedMx);
    // question 2 labels; per record: owner 1 hop + 2 labels; exchanges: 1 label + 1 hop + 2,
    // 1 label + 1 hop + those 4, 1 hop + those 4
    expect(s).toMatchObject({ ok: true, work: 2 + 3 * 3 + 4 + 6 + 5, maxHops: 2 });
  });
});
