/**
 * Errors of @postern/proxy-protocol. A bad header is not thrown: the parser
 * returns { status: "error", error } with one of the ProxyProtocolError
 * subclasses below. Only API misuse (ProxyStateError), bad options
 * (ProxyOptionsError) and unencodable input (ProxyEncodeError) are thrown.
 */

export const proxyErrorCodes = {
  badSignature: "POSTERN_PROXY_BAD_SIGNATURE",
  badVersion: "POSTERN_PROXY_BAD_VERSION",
  badCommand: "POSTERN_PROXY_BAD_COMMAND",
  badFamily: "POSTERN_PROXY_BAD_FAMILY",
  truncated: "POSTERN_PROXY_TRUNCATED",
  tooLong: "POSTERN_PROXY_TOO_LONG",
  v1Syntax: "POSTERN_PROXY_V1_SYNTAX",
  badAddress: "POSTERN_PROXY_BAD_ADDRESS",
  badPort: "POSTERN_PROXY_BAD_PORT",
  badTlv: "POSTERN_PROXY_BAD_TLV",
  crcMismatch: "POSTERN_PROXY_CRC_MISMATCH",
  uniqueIdTooLong: "POSTERN_PROXY_UNIQUE_ID_TOO_LONG",
  state: "POSTERN_PROXY_STATE",
  options: "POSTERN_PROXY_OPTIONS",
  encode: "POSTERN_PROXY_ENCODE",
} as const;
export type ProxyErrorCode = (typeof proxyErrorCodes)[keyof typeof proxyErrorCodes];

/** Base of every error of this package. */
export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  constructor(code: ProxyErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyError";
    this.code = code;
  }
}

/**
 * A header that is not acceptable. `reason` is short and fixed text (never
 * peer bytes), safe to log and to compare; `offset` is the byte position in
 * the header where the problem was found.
 */
export class ProxyProtocolError extends ProxyError {
  readonly reason: string;
  readonly offset: number;
  constructor(code: ProxyErrorCode, reason: string, offset: number) {
    // Returned, never thrown: a stack would always point here and costs more
    // than the parse itself, for every hostile connection. Skip capturing it.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(code, `PROXY header rejected: ${reason} (at byte ${offset})`);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = "ProxyProtocolError";
    this.reason = reason;
    this.offset = offset;
  }
}

/** Neither "PROXY " nor the 12-byte v2 signature, or a version not allowed. */
export class ProxyBadSignatureError extends ProxyProtocolError {
  constructor(reason: string, offset: number) {
    super(proxyErrorCodes.badSignature, reason, offset);
    this.name = "ProxyBadSignatureError";
  }
}

/** v2 version nibble other than 2. */
export class ProxyBadVersionError extends ProxyProtocolError {
  readonly versionNibble: number;
  constructor(versionNibble: number, offset: number) {
    super(proxyErrorCodes.badVersion, `unsupported protocol version ${versionNibble}`, offset);
    this.name = "ProxyBadVersionError";
    this.versionNibble = versionNibble;
  }
}

/** v2 command other than LOCAL (0) or PROXY (1). */
export class ProxyBadCommandError extends ProxyProtocolError {
  readonly command: number;
  constructor(command: number, offset: number) {
    super(proxyErrorCodes.badCommand, `unsupported command ${command}`, offset);
    this.name = "ProxyBadCommandError";
    this.command = command;
  }
}

/** Unknown or unsupported address family / transport (v1 protocol word, v2 byte 14). */
export class ProxyBadFamilyError extends ProxyProtocolError {
  constructor(reason: string, offset: number) {
    super(proxyErrorCodes.badFamily, reason, offset);
    this.name = "ProxyBadFamilyError";
  }
}

/** One-shot parsing only: the input ended inside the header. */
export class ProxyTruncatedError extends ProxyProtocolError {
  readonly received: number;
  constructor(received: number) {
    super(proxyErrorCodes.truncated, "truncated header", received);
    this.name = "ProxyTruncatedError";
    this.received = received;
  }
}

/** v1 line without CRLF within 107 bytes, or a v2 header above maxHeaderBytes. */
export class ProxyTooLongError extends ProxyProtocolError {
  readonly limit: number;
  /** The length the v2 header announced; undefined for v1. */
  readonly declared: number | undefined;
  constructor(reason: string, limit: number, declared: number | undefined, offset: number) {
    super(proxyErrorCodes.tooLong, reason, offset);
    this.name = "ProxyTooLongError";
    this.limit = limit;
    this.declared = declared;
  }
}

/** v1 line structure: separators, field count, bare CR or LF. */
export class ProxyV1SyntaxError extends ProxyProtocolError {
  constructor(reason: string, offset: number) {
    super(proxyErrorCodes.v1Syntax, reason, offset);
    this.name = "ProxyV1SyntaxError";
  }
}

/** An address that is malformed, of the wrong family, or an address block too short. */
export class ProxyBadAddressError extends ProxyProtocolError {
  constructor(reason: string, offset: number) {
    super(proxyErrorCodes.badAddress, reason, offset);
    this.name = "ProxyBadAddressError";
  }
}

/** A v1 port that is not 0..65535 without leading zeros. */
export class ProxyBadPortError extends ProxyProtocolError {
  constructor(reason: string, offset: number) {
    super(proxyErrorCodes.badPort, reason, offset);
    this.name = "ProxyBadPortError";
  }
}

/** A TLV that overruns, repeats, has the wrong size or an invalid value. */
export class ProxyBadTlvError extends ProxyProtocolError {
  readonly tlvType: number;
  constructor(tlvType: number, reason: string, offset: number) {
    super(proxyErrorCodes.badTlv, reason, offset);
    this.name = "ProxyBadTlvError";
    this.tlvType = tlvType;
  }
}

/** The CRC32C TLV does not match the header. */
export class ProxyCrcMismatchError extends ProxyProtocolError {
  readonly received: number;
  readonly computed: number;
  constructor(received: number, computed: number, offset: number) {
    super(proxyErrorCodes.crcMismatch, "CRC32C mismatch", offset);
    this.name = "ProxyCrcMismatchError";
    this.received = received;
    this.computed = computed;
  }
}

/** PP2_TYPE_UNIQUE_ID longer than the 128 bytes the specification allows. */
export class ProxyUniqueIdTooLongError extends ProxyProtocolError {
  readonly length: number;
  constructor(length: number, offset: number) {
    super(proxyErrorCodes.uniqueIdTooLong, `unique id of ${length} bytes exceeds 128`, offset);
    this.name = "ProxyUniqueIdTooLongError";
    this.length = length;
  }
}

/** push() called after the parser returned "done" or "error" (a bug in the caller). */
export class ProxyStateError extends ProxyError {
  constructor(message: string) {
    super(proxyErrorCodes.state, message);
    this.name = "ProxyStateError";
  }
}

/** Parser options out of range. */
export class ProxyOptionsError extends ProxyError {
  readonly option: string;
  constructor(option: string, message: string) {
    super(proxyErrorCodes.options, `${option}: ${message}`);
    this.name = "ProxyOptionsError";
    this.option = option;
  }
}

/** The encoder was given a header it cannot represent. */
export class ProxyEncodeError extends ProxyError {
  constructor(message: string) {
    super(proxyErrorCodes.encode, message);
    this.name = "ProxyEncodeError";
  }
}
