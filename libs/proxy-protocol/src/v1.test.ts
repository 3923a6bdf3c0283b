import { ProxyBadAddressError, ProxyBadPortError, ProxyTooLongError, ProxyV1SyntaxError } from "./errors";
import { runCases, type Case } from "./test/cases";

const src = { address: "192.0.2.10", port: 40000 };
const dst = { address: "198.51.100.20", port: 25 };
const tcp4 = { wantFamily: "TCP4", wantTransport: "STREAM", wantSource: src, wantDestination: dst } as const;
const unknown = { wantFamily: "UNKNOWN", wantUseSocket: true } as const;
const ffff = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
const SIG = "POSTERN_PROXY_BAD_SIGNATURE";
const SYNTAX = "POSTERN_PROXY_V1_SYNTAX";
const ADDR = "POSTERN_PROXY_BAD_ADDRESS";
const PORT = "POSTERN_PROXY_BAD_PORT";
const FAMILY = "POSTERN_PROXY_BAD_FAMILY";
const LONG = "POSTERN_PROXY_TOO_LONG";

const valid: Case[] = [
  { name: "TCP4", input: "PROXY TCP4 192.0.2.10 198.51.100.20 40000 25\r\n", ...tcp4 },
  {
    name: "TCP4 extremes",
    input: "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
    wantFamily: "TCP4",
    wantTransport: "STREAM",
    wantSource: { address: "0.0.0.0", port: 0 },
    wantDestination: { address: "255.255.255.255", port: 65535 },
  },
  {
    name: "TCP6 canonicalised like node's sockets",
    input: "PROXY TCP6 2001:DB8:0:0:0:0:0:1 0000:0000::1 1 2\r\n",
    wantFamily: "TCP6",
    wantTransport: "STREAM",
    wantSource: { address: "2001:db8::1", port: 1 },
    wantDestination: { address: "::1", port: 2 },
  },
  {
    name: "TCP6 IPv4-mapped",
    input: "PROXY TCP6 ::ffff:192.0.2.1 ::FFFF:c633:6414 40000 25\r\n",
    wantFamily: "TCP6",
    wantTransport: "STREAM",
    wantSource: { address: "::ffff:192.0.2.1", port: 40000 },
    wantDestination: { address: "::ffff:198.51.100.20", port: 25 },
  },
  {
    name: "TCP6 longest line (104 bytes)",
    input: `PROXY TCP6 ${ffff} ${ffff} 65535 65535\r\n`,
    wantFamily: "TCP6",
    wantTransport: "STREAM",
    wantSource: { address: ffff, port: 65535 },
    wantDestination: { address: ffff, port: 65535 },
  },
  { name: "UNKNOWN short form", input: "PROXY UNKNOWN\r\n", ...unknown },
  { name: "UNKNOWN worst case, 107 bytes", input: `PROXY UNKNOWN ${ffff} ${ffff} 65535 65535\r\n`, ...unknown },
  { name: "UNKNOWN followed by anything", input: "PROXY UNKNOWN \x00\xff  junk\t\r\n", ...unknown },
  { name: "UNKNOWN padded to exactly 107", input: `PROXY UNKNOWN${" ".repeat(92)}\r\n`, ...unknown },
  { name: "SMTP bytes after the header stay out", input: "PROXY TCP4 192.0.2.10 198.51.100.20 40000 25\r\nEHLO x\r\n", ...tcp4, wantBytes: 46 },
];

const malformed: Case[] = [
  { name: "not PROXY at all", input: "EHLO client.example\r\n", wantCode: SIG, wantReason: "not a PROXY protocol header", wantOffset: 0 },
  { name: "lower-case proxy", input: "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", wantCode: SIG, wantOffset: 0 },
  { name: "PROXZ", input: "PROXZ TCP4\r\n", wantCode: SIG, wantOffset: 4 },
  { name: "PROXY without space", input: "PROXY\r\n", wantCode: SIG, wantOffset: 5 },
  { name: "two spaces after PROXY", input: "PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n", wantCode: SYNTAX, wantReason: "missing protocol type", wantOffset: 6 },
  { name: "empty line", input: "PROXY \r\n", wantCode: SYNTAX, wantReason: "missing protocol type" },
  { name: "unknown protocol", input: "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", wantCode: FAMILY, wantReason: "bad or missing protocol type", wantOffset: 6 },
  { name: "lower-case tcp4", input: "PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n", wantCode: FAMILY },
  { name: "UNKNOWN glued to text", input: "PROXY UNKNOWNX\r\n", wantCode: FAMILY },
  { name: "UDP4", input: "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n", wantCode: FAMILY },
  { name: "double space between fields", input: "PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", wantCode: SYNTAX, wantClass: ProxyV1SyntaxError, wantOffset: 19 },
  { name: "trailing space", input: "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", wantCode: SYNTAX, wantOffset: 31 },
  { name: "tab separator", input: "PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n", wantCode: SYNTAX, wantReason: "missing server port" },
  { name: "missing server port", input: "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", wantCode: SYNTAX, wantReason: "missing server port" },
  { name: "missing client address", input: "PROXY TCP4\r\n", wantCode: SYNTAX, wantReason: "missing client address" },
  { name: "extra field", input: "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", wantCode: SYNTAX, wantReason: "extra fields after server port" },
  { name: "bare LF", input: "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", wantCode: SYNTAX, wantReason: "LF without CR", wantOffset: 30 },
  { name: "CR without LF", input: "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", wantCode: SYNTAX, wantReason: "CR not followed by LF", wantOffset: 31 },
  { name: "LF inside UNKNOWN", input: "PROXY UNKNOWN a\nb\r\n", wantCode: SYNTAX, wantOffset: 15 },
  { name: "NUL in address", input: "PROXY TCP4 1.2.3.4\x00 1.2.3.4 1 2\r\n", wantCode: ADDR },
  { name: "leading zero octet", input: "PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n", wantCode: ADDR, wantReason: "client address is malformed", wantOffset: 11 },
  { name: "octet 256", input: "PROXY TCP4 1.2.3.4 1.2.3.256 1 2\r\n", wantCode: ADDR, wantReason: "server address is malformed", wantOffset: 19 },
  { name: "three octets", input: "PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", wantCode: ADDR },
  { name: "five octets", input: "PROXY TCP4 1.2.3.4.5 1.2.3.4 1 2\r\n", wantCode: ADDR },
  { name: "hex octet", input: "PROXY TCP4 0x7f.0.0.1 1.2.3.4 1 2\r\n", wantCode: ADDR },
  { name: "empty octet", input: "PROXY TCP4 1..3.4 1.2.3.4 1 2\r\n", wantCode: ADDR },
  { name: "TCP4 with IPv6", input: "PROXY TCP4 ::1 1.2.3.4 1 2\r\n", wantCode: ADDR, wantReason: "client address is not IPv4", wantClass: ProxyBadAddressError },
  { name: "TCP6 with IPv4", input: "PROXY TCP6 ::1 1.2.3.4 1 2\r\n", wantCode: ADDR, wantReason: "server address is not IPv6" },
  { name: "IPv6 zone id", input: "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", wantCode: ADDR },
  { name: "IPv6 nine groups", input: "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", wantCode: ADDR },
  { name: "IPv6 two gaps", input: "PROXY TCP6 1::2::3 ::1 1 2\r\n", wantCode: ADDR },
  { name: "IPv6 triple colon", input: "PROXY TCP6 ::: ::1 1 2\r\n", wantCode: ADDR },
  { name: "IPv6 five hex digits", input: "PROXY TCP6 12345::1 ::1 1 2\r\n", wantCode: ADDR },
  { name: "IPv6 in brackets", input: "PROXY TCP6 [::1] ::1 1 2\r\n", wantCode: ADDR },
  { name: "IPv6 mapped with leading zero", input: "PROXY TCP6 ::ffff:01.2.3.4 ::1 1 2\r\n", wantCode: ADDR },
  { name: "port with leading zero", input: "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", wantCode: PORT, wantReason: "bad client port", wantOffset: 27 },
  { name: "port 00", input: "PROXY TCP4 1.2.3.4 1.2.3.4 1 00\r\n", wantCode: PORT, wantReason: "bad server port" },
  { name: "port 65536", input: "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", wantCode: PORT, wantClass: ProxyBadPortError },
  { name: "port 100000", input: "PROXY TCP4 1.2.3.4 1.2.3.4 100000 2\r\n", wantCode: PORT },
  { name: "negative port", input: "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", wantCode: PORT },
  { name: "plus sign port", input: "PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n", wantCode: PORT },
  { name: "hex port", input: "PROXY TCP4 1.2.3.4 1.2.3.4 0x1 2\r\n", wantCode: PORT },
  {
    name: "108 bytes: over the limit",
    input: `PROXY UNKNOWN${" ".repeat(93)}\r\n`,
    wantCode: LONG,
    wantReason: "v1 header longer than 107 bytes",
    wantOffset: 105,
    wantClass: ProxyTooLongError,
  },
  { name: "120 bytes without CRLF (pp_send --v1-long)", input: `PROXY TCP4 ${"9".repeat(109)}`, wantCode: LONG, wantOffset: 105 },
  {
    name: "maxHeaderBytes below 107 caps v1 too",
    input: "PROXY TCP4 192.0.2.10 198.51.100.20 40000 25\r\n",
    options: { maxHeaderBytes: 40 },
    wantCode: LONG,
    wantReason: "v1 header longer than 40 bytes",
    wantOffset: 38,
  },
  { name: "v1 refused when allowV1 is false", input: "PROXY UNKNOWN\r\n", options: { allowV2: true, allowV1: false }, wantCode: SIG, wantReason: "PROXY v1 not allowed" },
];

const truncated: Case[] = [
  { name: "prefix only", input: "PROX", wantNeedMore: true },
  { name: "line without CRLF", input: "PROXY TCP4 1.2.3.4 1.2.3.4 1 2", wantNeedMore: true },
  { name: "line ending in CR", input: "PROXY UNKNOWN\r", wantNeedMore: true },
  { name: "106 bytes and a CR", input: `PROXY UNKNOWN${" ".repeat(92)}\r`, wantNeedMore: true },
];

describe("v1 valid", () => runCases(valid));
describe("v1 malformed", () => runCases(malformed));
describe("v1 truncated", () => runCases(truncated));
