/**
 * The v1 text line (proxy-protocol.txt section 2.1), once its CRLF is in:
 * "PROXY TCP4|TCP6 src dst sport dport" with exactly one space between fields,
 * or "PROXY UNKNOWN" followed by anything. Reasons follow Postfix's wording.
 */
import { isIPv6 } from "node:net";
import {
  ProxyBadAddressError,
  ProxyBadFamilyError,
  ProxyBadPortError,
  ProxyV1SyntaxError,
  type ProxyProtocolError,
} from "./errors";
import { formatIPv6, parseIPv4, parseIPv6 } from "./ip";
import { V1_PREFIX, type ProxyEndpoint, type ProxyHeader } from "./types";

const PORT = /^(?:0|[1-9][0-9]{0,4})$/;
const FIELD_NAMES = ["protocol type", "client address", "server address", "client port", "server port"] as const;

/** Canonical address text for the family, or undefined. */
function address(family: "TCP4" | "TCP6", text: string): string | undefined {
  if (family === "TCP4") return parseIPv4(text) ? text : undefined;
  const bytes = isIPv6(text) ? parseIPv6(text) : undefined;
  return bytes && formatIPv6(bytes);
}

/** Parses line[0, length) which ends in CRLF and holds no other CR or LF. */
export function parseV1Line(line: Buffer, length: number): ProxyHeader | ProxyProtocolError {
  const text = line.toString("latin1", V1_PREFIX.length, length - 2);
  const fields = text.split(" ");
  const proto = fields[0]!;
  if (proto === "UNKNOWN") {
    return { version: 1, command: "PROXY", family: "UNKNOWN", useSocketAddresses: true, tlvs: { noop: 0, unknown: [] } };
  }
  const offsets: number[] = [];
  let at = V1_PREFIX.length;
  for (const f of fields) {
    offsets.push(at);
    at += f.length + 1;
  }
  if (proto === "") return new ProxyV1SyntaxError("missing protocol type", V1_PREFIX.length);
  if (proto !== "TCP4" && proto !== "TCP6") return new ProxyBadFamilyError("bad or missing protocol type", V1_PREFIX.length);
  const empty = fields.indexOf("");
  if (empty >= 0) return new ProxyV1SyntaxError("empty field: separators must be exactly one space", offsets[empty]!);
  if (fields.length < 5) {
    return new ProxyV1SyntaxError(`missing ${FIELD_NAMES[fields.length]!}`, length - 2);
  }
  if (fields.length > 5) return new ProxyV1SyntaxError("extra fields after server port", offsets[5]!);
  const addrs: string[] = [];
  for (let k = 1; k <= 2; k++) {
    const addr = address(proto, fields[k]!);
    if (addr === undefined) {
      const other = proto === "TCP4" ? isIPv6(fields[k]!) : parseIPv4(fields[k]!) !== undefined;
      const why = other ? `is not ${proto === "TCP4" ? "IPv4" : "IPv6"}` : "is malformed";
      return new ProxyBadAddressError(`${FIELD_NAMES[k]!} ${why}`, offsets[k]!);
    }
    addrs.push(addr);
  }
  const ends: ProxyEndpoint[] = [];
  for (let k = 3; k <= 4; k++) {
    const portText = fields[k]!;
    const port = Number(portText);
    if (!PORT.test(portText) || port > 0xffff) return new ProxyBadPortError(`bad ${FIELD_NAMES[k]!}`, offsets[k]!);
    ends.push({ address: addrs[k - 3]!, port });
  }
  return {
    version: 1,
    command: "PROXY",
    family: proto,
    transport: "STREAM",
    source: ends[0]!,
    destination: ends[1]!,
    useSocketAddresses: false,
    tlvs: { noop: 0, unknown: [] },
  };
}
