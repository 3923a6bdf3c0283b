import type { ProxyProtocolError } from "./errors";

/** The v2 signature: \r\n\r\n\0\r\nQUIT\n. */
export const V2_SIGNATURE: Buffer = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The v1 prefix, including its first separator. */
export const V1_PREFIX: Buffer = Buffer.from("PROXY ", "latin1");
/** Longest v1 line the specification allows, CRLF included. */
export const V1_MAX_LENGTH = 107;
/** Fixed part of a v2 header: signature, version/command, family, length. */
export const V2_FIXED_LENGTH = 16;
/** Largest possible v2 header: 16 + 0xffff. */
export const V2_MAX_LENGTH = V2_FIXED_LENGTH + 0xffff;
/** Largest PP2_TYPE_UNIQUE_ID value. */
export const UNIQUE_ID_MAX_LENGTH = 128;
/** Size of one AF_UNIX path in the v2 address block. */
export const UNIX_PATH_LENGTH = 108;

export const tlvTypes = {
  alpn: 0x01,
  authority: 0x02,
  crc32c: 0x03,
  noop: 0x04,
  uniqueId: 0x05,
  ssl: 0x20,
  sslVersion: 0x21,
  sslCn: 0x22,
  sslCipher: 0x23,
  sslSigAlg: 0x24,
  sslKeyAlg: 0x25,
  netns: 0x30,
} as const;

/** Bits of the SSL TLV `client` field. */
export const sslClientFlags = { ssl: 0x01, certConn: 0x02, certSess: 0x04 } as const;

export type ProxyVersion = 1 | 2;
export type ProxyCommand = "PROXY" | "LOCAL";
/** TCP4/TCP6: v1 words, v2 AF_INET/AF_INET6; UNKNOWN only in v1, UNIX and UNSPEC only in v2. */
export type ProxyFamily = "TCP4" | "TCP6" | "UNIX" | "UNSPEC" | "UNKNOWN";
export type ProxyTransport = "STREAM" | "DGRAM";

export interface ProxyEndpoint {
  /** Canonical text: dotted quad, or IPv6 as node's sockets print it (lower case, "::", "::ffff:a.b.c.d"). */
  address: string;
  port: number;
}

export interface ProxyRawTlv {
  type: number;
  value: Buffer;
}

export interface ProxySslInfo {
  /** Bit field, see sslClientFlags. */
  client: number;
  /** 0 when the client presented a certificate that was verified. */
  verify: number;
  version?: string;
  cn?: string;
  cipher?: string;
  sigAlg?: string;
  keyAlg?: string;
  /** Sub-TLVs of unknown type, in wire order. */
  unknown: ProxyRawTlv[];
}

export interface ProxyTlvs {
  /** Raw ALPN bytes (an opaque byte string per the specification). */
  alpn?: Buffer;
  /** UTF-8 host name (TLS SNI). */
  authority?: string;
  /** Present only when the header carried a CRC32C that matched. */
  crc32c?: { value: number; verified: true };
  uniqueId?: Buffer;
  ssl?: ProxySslInfo;
  netns?: string;
  /** Number of NOOP TLVs seen. */
  noop: number;
  /** TLVs of unknown type, in wire order. */
  unknown: ProxyRawTlv[];
}

export interface ProxyHeader {
  version: ProxyVersion;
  command: ProxyCommand;
  family: ProxyFamily;
  transport?: ProxyTransport;
  source?: ProxyEndpoint;
  destination?: ProxyEndpoint;
  /** AF_UNIX paths, up to the first NUL (an abstract socket name therefore reads as ""). */
  unixSource?: string;
  unixDestination?: string;
  /**
   * True when the connection must keep the socket's own addresses: LOCAL, v1
   * UNKNOWN, v2 AF_UNSPEC and AF_UNIX. When false, source and destination are set.
   */
  useSocketAddresses: boolean;
  tlvs: ProxyTlvs;
}

export type ParseResult =
  | { status: "need-more" }
  | {
      status: "done";
      header: ProxyHeader;
      /** Bytes after the header in the last chunk pushed: they belong to the SMTP parser. */
      rest: Buffer;
      /** Length of the header on the wire. */
      headerBytes: number;
    }
  | { status: "error"; error: ProxyProtocolError };

export type OneShotResult = Exclude<ParseResult, { status: "need-more" }>;

export interface ProxyParserOptions {
  /** Largest header accepted, in bytes (16..65551). Default 4096. v1 lines stay capped at 107. */
  maxHeaderBytes?: number;
  /** Accept the text format. Default true. */
  allowV1?: boolean;
  /** Accept the binary format. Default true. */
  allowV2?: boolean;
}
