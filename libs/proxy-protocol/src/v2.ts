/**
 * The v2 binary header (proxy-protocol.txt section 2.2): checks made as soon
 * as each fixed byte arrives, then the address block and TLVs once the whole
 * header (16 + length bytes) is buffered.
 */
import { crc32cWithZeroedField } from "./crc32c";
import {
  ProxyBadAddressError,
  ProxyBadCommandError,
  ProxyBadFamilyError,
  ProxyBadVersionError,
  ProxyCrcMismatchError,
  type ProxyProtocolError,
} from "./errors";
import { formatIPv4, formatIPv6 } from "./ip";
import { parseTlvs } from "./tlv";
import { UNIX_PATH_LENGTH, V2_FIXED_LENGTH, type ProxyCommand, type ProxyFamily, type ProxyHeader } from "./types";

export interface V2Family {
  family: ProxyFamily;
  transport?: "STREAM";
  /** Bytes of address block this family occupies (skipped even when not decoded). */
  addressLength: number;
  /** Whether the address block is decoded into the header. */
  decode: boolean;
}

const ADDRESS_LENGTH = [0, 12, 36, 2 * UNIX_PATH_LENGTH] as const;
const FAMILY_NAME = ["UNSPEC", "TCP4", "TCP6", "UNIX"] as const;

/** The 13th byte (offset 12): version nibble and command. */
export function checkVersionCommand(b: number): ProxyCommand | ProxyProtocolError {
  if (b >> 4 !== 2) return new ProxyBadVersionError(b >> 4, 12);
  const cmd = b & 0x0f;
  if (cmd > 1) return new ProxyBadCommandError(cmd, 12);
  return cmd === 0 ? "LOCAL" : "PROXY";
}

/**
 * The 14th byte (offset 13): family and transport. PROXY accepts AF_UNSPEC (0x00) and the STREAM
 * families (0x11, 0x21, 0x31); DGRAM makes no sense for SMTP. LOCAL ignores the
 * family as the specification says, but still skips the address block it implies.
 */
export function classifyFamily(command: ProxyCommand, b: number): V2Family | ProxyProtocolError {
  const fam = b >> 4;
  const transport = b & 0x0f;
  if (fam > 3) return new ProxyBadFamilyError(`unknown address family ${fam}`, 13);
  if (transport > 2) return new ProxyBadFamilyError(`unknown transport protocol ${transport}`, 13);
  const addressLength = ADDRESS_LENGTH[fam as 0 | 1 | 2 | 3];
  if (b === 0x00) return { family: "UNSPEC", addressLength, decode: false };
  if (fam !== 0 && transport === 1) {
    return { family: FAMILY_NAME[fam as 1 | 2 | 3], transport: "STREAM", addressLength, decode: true };
  }
  if (command === "LOCAL") return { family: "UNSPEC", addressLength, decode: false };
  if (transport === 2) return new ProxyBadFamilyError("datagram not supported", 13);
  return new ProxyBadFamilyError("address family and transport do not match", 13);
}

function unixPath(h: Buffer, start: number): string {
  const field = h.subarray(start, start + UNIX_PATH_LENGTH);
  const nul = field.indexOf(0);
  return field.toString("utf8", 0, nul < 0 ? field.length : nul);
}

/** Decodes a whole v2 header h[0, total) whose first 16 bytes were already checked. */
export function decodeV2(h: Buffer, total: number): ProxyHeader | ProxyProtocolError {
  const command = checkVersionCommand(h[12]!);
  if (command instanceof Error) return command;
  const fam = classifyFamily(command, h[13]!);
  if (fam instanceof Error) return fam;
  if (total - V2_FIXED_LENGTH < fam.addressLength) {
    return new ProxyBadAddressError("address block shorter than its family requires", 14);
  }
  const header: ProxyHeader = { version: 2, command, family: fam.family, useSocketAddresses: true, tlvs: { noop: 0, unknown: [] } };
  if (fam.transport) header.transport = fam.transport;
  const a = V2_FIXED_LENGTH;
  if (fam.decode && fam.family === "UNIX") {
    header.unixSource = unixPath(h, a);
    header.unixDestination = unixPath(h, a + UNIX_PATH_LENGTH);
  } else if (fam.decode) {
    const n = fam.family === "TCP4" ? 4 : 16;
    const format = n === 4 ? formatIPv4 : formatIPv6;
    header.source = { address: format(h, a), port: h.readUInt16BE(a + 2 * n) };
    header.destination = { address: format(h, a + n), port: h.readUInt16BE(a + 2 * n + 2) };
    header.useSocketAddresses = command === "LOCAL";
  }
  const parsed = parseTlvs(h, a + fam.addressLength, total);
  if (parsed instanceof Error) return parsed;
  header.tlvs = parsed.tlvs;
  if (parsed.crcOffset !== undefined) {
    const received = parsed.tlvs.crc32c!.value;
    const computed = crc32cWithZeroedField(h.subarray(0, total), parsed.crcOffset);
    if (received !== computed) return new ProxyCrcMismatchError(received, computed, parsed.crcOffset);
  }
  return header;
}
