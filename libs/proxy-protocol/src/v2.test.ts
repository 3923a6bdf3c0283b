import { encodeProxyHeaderV2 } from "./encode";
import { ProxyBadCommandError, ProxyBadFamilyError, ProxyBadVersionError, ProxyTooLongError } from "./errors";
import { runCases, type Case } from "./test/cases";
import { hex, INET_BLOCK, rawV2, tlv } from "./test/support";
import { V2_SIGNATURE } from "./types";

const src = { address: "192.0.2.1", port: 40000 };
const dst = { address: "198.51.100.20", port: 25 };
const v2 = { wantVersion: 2 } as const;
const tcp4 = { ...v2, wantFamily: "TCP4", wantTransport: "STREAM", wantSource: src, wantDestination: dst } as const;
const INET6_BLOCK = Buffer.concat([hex("20010db8000000000000000000000001"), hex("00000000000000000000ffffc0000201"), hex("0001 ffff")]);
const unixBlock = (a: string | Buffer, b: string | Buffer): Buffer => {
  const out = Buffer.alloc(216);
  Buffer.from(a).copy(out, 0);
  Buffer.from(b).copy(out, 108);
  return out;
};
const flipSig = (k: number): Buffer => {
  const b = rawV2({ body: INET_BLOCK });
  b[k]! ^= 0x20;
  return b;
};
const SIG = "POSTERN_PROXY_BAD_SIGNATURE";
const FAMILY = "POSTERN_PROXY_BAD_FAMILY";
const ADDR = "POSTERN_PROXY_BAD_ADDRESS";
const LONG = "POSTERN_PROXY_TOO_LONG";

const valid: Case[] = [
  { name: "TCP4 PROXY", input: rawV2({ body: INET_BLOCK }), ...tcp4 },
  {
    name: "TCP6 PROXY, mapped destination printed like node",
    input: rawV2({ fam: 0x21, body: INET6_BLOCK }),
    ...v2,
    wantFamily: "TCP6",
    wantTransport: "STREAM",
    wantSource: { address: "2001:db8::1", port: 1 },
    wantDestination: { address: "::ffff:192.0.2.1", port: 65535 },
  },
  {
    name: "UNIX stream paths",
    input: rawV2({ fam: 0x31, body: unixBlock("/run/haproxy.sock", "/run/postern/edge.sock") }),
    ...v2,
    wantFamily: "UNIX",
    wantTransport: "STREAM",
    wantUnixSource: "/run/haproxy.sock",
    wantUnixDestination: "/run/postern/edge.sock",
    wantUseSocket: true,
  },
  {
    name: "UNIX path of 108 bytes without NUL, abstract name reads empty",
    input: rawV2({ fam: 0x31, body: unixBlock("p".repeat(108), "\0abstract") }),
    ...v2,
    wantFamily: "UNIX",
    wantTransport: "STREAM",
    wantUnixSource: "p".repeat(108),
    wantUnixDestination: "",
    wantUseSocket: true,
  },
  { name: "AF_UNSPEC with PROXY keeps the socket addresses", input: rawV2({ fam: 0x00 }), ...v2, wantFamily: "UNSPEC", wantUseSocket: true },
  {
    name: "AF_UNSPEC skips no address but reads TLVs",
    input: rawV2({ fam: 0x00, body: tlv(0xe0, "x") }),
    ...v2,
    wantFamily: "UNSPEC",
    wantUseSocket: true,
    wantTlvs: { unknown: [{ type: 0xe0, value: Buffer.from("x") }] },
  },
  { name: "LOCAL (health check)", input: rawV2({ verCmd: 0x20, fam: 0x00 }), ...v2, wantCommand: "LOCAL", wantFamily: "UNSPEC", wantUseSocket: true },
  {
    name: "LOCAL with an address block: reported, not used",
    input: rawV2({ verCmd: 0x20, body: INET_BLOCK }),
    ...tcp4,
    wantCommand: "LOCAL",
    wantUseSocket: true,
  },
  {
    name: "LOCAL ignores a DGRAM family but skips its block",
    input: rawV2({ verCmd: 0x20, fam: 0x12, body: Buffer.concat([INET_BLOCK, tlv(0x04, "")]) }),
    ...v2,
    wantCommand: "LOCAL",
    wantFamily: "UNSPEC",
    wantUseSocket: true,
    wantTlvs: { noop: 1 },
  },
  {
    name: "LOCAL with AF_INET and UNSPEC transport",
    input: rawV2({ verCmd: 0x20, fam: 0x10, body: INET_BLOCK }),
    ...v2,
    wantCommand: "LOCAL",
    wantFamily: "UNSPEC",
    wantUseSocket: true,
  },
  { name: "address block followed by SMTP bytes", input: Buffer.concat([rawV2({ body: INET_BLOCK }), Buffer.from("EHLO x\r\n")]), ...tcp4, wantBytes: 28 },
  {
    name: "header of exactly maxHeaderBytes",
    input: encodeProxyHeaderV2({ family: "TCP4", source: src, destination: dst }, { padTo: 4096 }),
    ...tcp4,
    wantTlvs: { noop: 1 },
  },
  {
    name: "233 bytes (Exim's 232-byte buffer would refuse)",
    input: encodeProxyHeaderV2({ family: "TCP4", source: src, destination: dst }, { padTo: 233, crc32c: true }),
    ...tcp4,
    // pp_send.py --src 192.0.2.1 --dst 198.51.100.20 --sport 40000 --dport 25 --crc32c --pad-to 233 --dump
    wantTlvs: { noop: 1, crc32c: { value: 0x8a170f38, verified: true } },
  },
  {
    name: "small maxHeaderBytes still fits a bare TCP4 header",
    input: rawV2({ body: INET_BLOCK }),
    options: { maxHeaderBytes: 28 },
    ...tcp4,
  },
];

const malformed: Case[] = [
  ...Array.from({ length: 11 }, (_, i): Case => ({ name: `signature byte ${i + 1} wrong`, input: flipSig(i + 1), wantCode: SIG, wantReason: "bad v2 signature", wantOffset: i + 1 })),
  { name: "HTTP/SSH-style CRLF CRLF", input: "\r\n\r\nGET / HTTP/1.0\r\n", wantCode: SIG, wantOffset: 4 },
  { name: "version nibble 1", input: rawV2({ verCmd: 0x11, body: INET_BLOCK }), wantCode: "POSTERN_PROXY_BAD_VERSION", wantReason: "unsupported protocol version 1", wantOffset: 12, wantClass: ProxyBadVersionError },
  { name: "version nibble 3 (pp_send --version-nibble 3)", input: rawV2({ verCmd: 0x31, body: INET_BLOCK }), wantCode: "POSTERN_PROXY_BAD_VERSION" },
  { name: "version nibble 0", input: rawV2({ verCmd: 0x01 }), wantCode: "POSTERN_PROXY_BAD_VERSION" },
  { name: "command 2", input: rawV2({ verCmd: 0x22, body: INET_BLOCK }), wantCode: "POSTERN_PROXY_BAD_COMMAND", wantReason: "unsupported command 2", wantOffset: 12, wantClass: ProxyBadCommandError },
  { name: "command 15", input: rawV2({ verCmd: 0x2f }), wantCode: "POSTERN_PROXY_BAD_COMMAND" },
  { name: "family 4", input: rawV2({ fam: 0x41, body: INET_BLOCK }), wantCode: FAMILY, wantReason: "unknown address family 4", wantOffset: 13, wantClass: ProxyBadFamilyError },
  { name: "transport 3", input: rawV2({ fam: 0x13, body: INET_BLOCK }), wantCode: FAMILY, wantReason: "unknown transport protocol 3" },
  { name: "LOCAL still rejects an undefined family", input: rawV2({ verCmd: 0x20, fam: 0xf1 }), wantCode: FAMILY },
  { name: "UDP over IPv4", input: rawV2({ fam: 0x12, body: INET_BLOCK }), wantCode: FAMILY, wantReason: "datagram not supported" },
  { name: "UDP over IPv6", input: rawV2({ fam: 0x22, body: INET6_BLOCK }), wantCode: FAMILY, wantReason: "datagram not supported" },
  { name: "UNIX datagram", input: rawV2({ fam: 0x32, body: unixBlock("a", "b") }), wantCode: FAMILY, wantReason: "datagram not supported" },
  { name: "AF_INET with UNSPEC transport", input: rawV2({ fam: 0x10, body: INET_BLOCK }), wantCode: FAMILY, wantReason: "address family and transport do not match" },
  { name: "AF_UNSPEC with STREAM", input: rawV2({ fam: 0x01 }), wantCode: FAMILY },
  { name: "TCP4 block of 11 bytes", input: rawV2({ body: INET_BLOCK.subarray(0, 11) }), wantCode: ADDR, wantReason: "address block shorter than its family requires", wantOffset: 14 },
  { name: "TCP6 with a TCP4-sized block", input: rawV2({ fam: 0x21, body: INET_BLOCK }), wantCode: ADDR },
  { name: "UNIX block of 215 bytes", input: rawV2({ fam: 0x31, body: Buffer.alloc(215) }), wantCode: ADDR },
  { name: "LOCAL with a too short block", input: rawV2({ verCmd: 0x20, body: Buffer.alloc(4) }), wantCode: ADDR },
  {
    name: "length 0xffff over the default maximum, refused at byte 16",
    input: rawV2({ body: INET_BLOCK, len: 0xffff }),
    wantCode: LONG,
    wantReason: "v2 header of 65551 bytes exceeds the 4096-byte limit",
    wantOffset: 14,
    wantClass: ProxyTooLongError,
  },
  { name: "4097 bytes", input: encodeProxyHeaderV2({ family: "TCP4", source: src, destination: dst }, { padTo: 4097 }), wantCode: LONG },
  { name: "over a custom maximum", input: rawV2({ body: INET_BLOCK }), options: { maxHeaderBytes: 27 }, wantCode: LONG },
  { name: "v2 refused when allowV2 is false", input: rawV2({ body: INET_BLOCK }), options: { allowV1: true, allowV2: false }, wantCode: SIG, wantReason: "PROXY v2 not allowed" },
];

const truncated: Case[] = [
  { name: "signature only", input: V2_SIGNATURE, wantNeedMore: true },
  { name: "15 bytes (swaks LOCAL quirk)", input: rawV2({ verCmd: 0x20, fam: 0x00 }).subarray(0, 15), wantNeedMore: true },
  { name: "length claims more than sent (pp_send --oversize-len)", input: rawV2({ body: INET_BLOCK, len: 300 }), wantNeedMore: true },
  { name: "address block cut short", input: rawV2({ body: INET_BLOCK }).subarray(0, 27), wantNeedMore: true },
];

describe("v2 valid", () => runCases(valid));
describe("v2 malformed", () => runCases(malformed));
describe("v2 truncated", () => runCases(truncated));
