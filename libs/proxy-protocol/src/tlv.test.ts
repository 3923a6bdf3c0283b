import { ProxyBadTlvError, ProxyCrcMismatchError, ProxyUniqueIdTooLongError } from "./errors";
import { runCases, type Case } from "./test/cases";
import { INET_BLOCK, rawV2, tlv, withCrc } from "./test/support";

const tcp4 = {
  wantVersion: 2,
  wantFamily: "TCP4",
  wantTransport: "STREAM",
  wantSource: { address: "192.0.2.1", port: 40000 },
  wantDestination: { address: "198.51.100.20", port: 25 },
} as const;
/** A TCP4 header carrying these TLVs. */
const withTlvs = (...tlvs: Buffer[]): Buffer => rawV2({ body: Buffer.concat([INET_BLOCK, ...tlvs]) });
/** The same with a CRC32C TLV first (at byte 28 + 3), filled in; xor spoils it. */
const crcFirst = (xor: number, ...tlvs: Buffer[]): Buffer => withCrc(withTlvs(tlv(0x03, Buffer.alloc(4)), ...tlvs), 31, xor);
const ssl = (client: number, verify: number, ...subs: Buffer[]): Buffer => {
  const head = Buffer.alloc(5);
  head[0] = client;
  head.writeUInt32BE(verify, 1);
  return tlv(0x20, Buffer.concat([head, ...subs]));
};
const crcValue = (b: Buffer): number => b.readUInt32BE(31);
const TLV = "POSTERN_PROXY_BAD_TLV";

const okCrc = crcFirst(0, tlv(0x02, "mx.example"));
const crcLast = withCrc(withTlvs(tlv(0x30, "ns"), tlv(0x03, Buffer.alloc(4))), 36);
const valid: Case[] = [
  { name: "ALPN (raw bytes)", input: withTlvs(tlv(0x01, Buffer.from([0x73, 0x6d, 0x74, 0x70, 0xff]))), ...tcp4, wantTlvs: { alpn: Buffer.from([0x73, 0x6d, 0x74, 0x70, 0xff]) } },
  { name: "AUTHORITY in UTF-8", input: withTlvs(tlv(0x02, "bücher.example")), ...tcp4, wantTlvs: { authority: "bücher.example" } },
  { name: "empty AUTHORITY", input: withTlvs(tlv(0x02, "")), ...tcp4, wantTlvs: { authority: "" } },
  { name: "CRC32C verified", input: okCrc, ...tcp4, wantTlvs: { crc32c: { value: crcValue(okCrc), verified: true }, authority: "mx.example" } },
  { name: "NOOPs with and without padding", input: withTlvs(tlv(0x04, ""), tlv(0x04, Buffer.alloc(9))), ...tcp4, wantTlvs: { noop: 2 } },
  { name: "UNIQUE_ID of 128 bytes", input: withTlvs(tlv(0x05, Buffer.alloc(128, 0xab))), ...tcp4, wantTlvs: { uniqueId: Buffer.alloc(128, 0xab) } },
  { name: "empty UNIQUE_ID", input: withTlvs(tlv(0x05, "")), ...tcp4, wantTlvs: { uniqueId: Buffer.alloc(0) } },
  {
    name: "SSL with every sub-TLV",
    input: withTlvs(ssl(0x07, 0, tlv(0x21, "TLSv1.3"), tlv(0x22, "Client Ünïcode"), tlv(0x25, "RSA2048"), tlv(0x24, "RSA-SHA256"), tlv(0x23, "TLS_AES_256_GCM_SHA384"))),
    ...tcp4,
    wantTlvs: {
      ssl: { client: 7, verify: 0, version: "TLSv1.3", cn: "Client Ünïcode", keyAlg: "RSA2048", sigAlg: "RSA-SHA256", cipher: "TLS_AES_256_GCM_SHA384", unknown: [] },
    },
  },
  { name: "SSL with no sub-TLV (plain TCP client)", input: withTlvs(ssl(0, 0)), ...tcp4, wantTlvs: { ssl: { client: 0, verify: 0, unknown: [] } } },
  {
    name: "SSL verify failure and an unknown sub-TLV",
    input: withTlvs(ssl(0x03, 0xdeadbeef, tlv(0x2a, "x"))),
    ...tcp4,
    wantTlvs: { ssl: { client: 3, verify: 0xdeadbeef, unknown: [{ type: 0x2a, value: Buffer.from("x") }] } },
  },
  { name: "NETNS", input: withTlvs(tlv(0x30, "blue")), ...tcp4, wantTlvs: { netns: "blue" } },
  {
    name: "unknown types kept in order, repeats allowed",
    input: withTlvs(tlv(0xe0, "a"), tlv(0x21, "top-level sub type"), tlv(0xe0, "")),
    ...tcp4,
    wantTlvs: {
      unknown: [
        { type: 0xe0, value: Buffer.from("a") },
        { type: 0x21, value: Buffer.from("top-level sub type") },
        { type: 0xe0, value: Buffer.alloc(0) },
      ],
    },
  },
  {
    name: "CRC32C not first still verified",
    input: crcLast,
    ...tcp4,
    wantTlvs: { netns: "ns", crc32c: { value: crcLast.readUInt32BE(36), verified: true } },
  },
];

const malformed: Case[] = [
  { name: "TLV length overruns the header", input: withTlvs(tlv(0x02, "abc", 4)), wantCode: TLV, wantReason: "TLV 0x02 overruns its container", wantOffset: 28, wantClass: ProxyBadTlvError },
  { name: "TLV of length 0xffff in a short header", input: withTlvs(tlv(0xe0, "", 0xffff)), wantCode: TLV },
  { name: "one stray byte after the TLVs", input: withTlvs(tlv(0x04, ""), Buffer.from([0x01])), wantCode: TLV, wantReason: "truncated TLV header", wantOffset: 31 },
  { name: "two stray bytes", input: withTlvs(Buffer.from([0x01, 0x00])), wantCode: TLV, wantOffset: 28 },
  { name: "bad CRC32C (pp_send --bad-crc)", input: crcFirst(0xdeadbeef), wantCode: "POSTERN_PROXY_CRC_MISMATCH", wantReason: "CRC32C mismatch", wantOffset: 31, wantClass: ProxyCrcMismatchError },
  { name: "CRC32C over a spoofed address", input: (() => { const b = Buffer.from(okCrc); b[16] = 10; return b; })(), wantCode: "POSTERN_PROXY_CRC_MISMATCH" },
  { name: "CRC32C of 3 bytes", input: withTlvs(tlv(0x03, Buffer.alloc(3))), wantCode: TLV, wantReason: "CRC32C TLV is not 4 bytes" },
  { name: "two CRC32C TLVs", input: crcFirst(0, tlv(0x03, Buffer.alloc(4))), wantCode: TLV, wantReason: "duplicate TLV 0x03" },
  { name: "UNIQUE_ID of 129 bytes", input: withTlvs(tlv(0x05, Buffer.alloc(129))), wantCode: "POSTERN_PROXY_UNIQUE_ID_TOO_LONG", wantReason: "unique id of 129 bytes exceeds 128", wantOffset: 28, wantClass: ProxyUniqueIdTooLongError },
  { name: "duplicate ALPN", input: withTlvs(tlv(0x01, "a"), tlv(0x01, "b")), wantCode: TLV, wantOffset: 32 },
  { name: "duplicate AUTHORITY", input: withTlvs(tlv(0x02, "a"), tlv(0x02, "a")), wantCode: TLV },
  { name: "duplicate UNIQUE_ID", input: withTlvs(tlv(0x05, "a"), tlv(0x05, "b")), wantCode: TLV },
  { name: "duplicate SSL", input: withTlvs(ssl(0, 0), ssl(0, 0)), wantCode: TLV },
  { name: "duplicate NETNS", input: withTlvs(tlv(0x30, "a"), tlv(0x30, "a")), wantCode: TLV },
  { name: "AUTHORITY not UTF-8", input: withTlvs(tlv(0x02, Buffer.from([0x6d, 0xc3, 0x28]))), wantCode: TLV, wantReason: "AUTHORITY is not valid UTF-8" },
  { name: "NETNS not ASCII", input: withTlvs(tlv(0x30, "ü")), wantCode: TLV, wantReason: "NETNS is not US-ASCII" },
  { name: "SSL shorter than 5 bytes", input: withTlvs(tlv(0x20, Buffer.alloc(4))), wantCode: TLV, wantReason: "SSL TLV shorter than 5 bytes" },
  { name: "SSL sub-TLV overruns the SSL TLV", input: withTlvs(ssl(1, 0, tlv(0x21, "TLSv1.3", 8)), tlv(0x04, "x")), wantCode: TLV, wantReason: "TLV 0x21 overruns its container", wantOffset: 36 },
  { name: "SSL sub-TLV header truncated", input: withTlvs(ssl(1, 0, Buffer.from([0x21, 0x00]))), wantCode: TLV, wantReason: "truncated TLV header" },
  { name: "duplicate SSL VERSION", input: withTlvs(ssl(1, 0, tlv(0x21, "a"), tlv(0x21, "b"))), wantCode: TLV, wantReason: "duplicate SSL sub-TLV 0x21" },
  { name: "SSL CIPHER not ASCII", input: withTlvs(ssl(1, 0, tlv(0x23, Buffer.from([0xff])))), wantCode: TLV, wantReason: "SSL sub-TLV 0x23 is not valid text" },
  { name: "SSL CN not UTF-8", input: withTlvs(ssl(5, 0, tlv(0x22, Buffer.from([0xc0, 0x80])))), wantCode: TLV },
];

describe("TLVs valid", () => runCases(valid));
describe("TLVs malformed", () => runCases(malformed));
