/**
 * @postern/proxy-protocol: the PROXY protocol header a load balancer puts in
 * front of a connection, as pure logic without sockets, in the spirit of
 * Postfix's haproxy_srvr.c. ProxyHeaderParser takes bytes as they arrive (one
 * at a time or all at once) and answers "need-more", "done" (the header, its
 * length and the rest of the chunk, which belongs to the SMTP parser) or
 * "error" (a typed ProxyProtocolError with a short reason).
 * parseProxyHeader() does the same in one call; encodeProxyHeaderV1/V2()
 * build headers, CRC32C included. The edge owns the socket, the timeout, the
 * list of trusted proxies and the logging; see docs/adr/0003-proxy-protocol.md
 * for what it does with LOCAL, UNKNOWN and AF_UNSPEC.
 *
 * STANDARDS: haproxy doc/proxy-protocol.txt, versions 1 (text) and 2
 * (binary): commands LOCAL and PROXY; families AF_INET, AF_INET6, AF_UNIX and
 * AF_UNSPEC over STREAM; TLVs ALPN, AUTHORITY, CRC32C (RFC 4960 appendix B,
 * verified), NOOP, UNIQUE_ID, SSL with VERSION, CN, CIPHER, SIG_ALG, KEY_ALG,
 * and NETNS; other TLVs are kept as raw bytes.
 *
 * SECURITY: every byte is hostile. The first byte that cannot belong to a
 * signature fails the header, so a peer that does not speak PROXY is rejected
 * without waiting. v1 is capped at 107 bytes with exactly one space between
 * fields, dotted quads and ports without leading zeros, IPv6 without zone ids
 * and matching the announced family; a bare CR or LF fails. A v2 header whose
 * length field exceeds maxHeaderBytes (default 4096) fails as soon as the
 * length arrives, so the parser never holds more than that. TLVs that overrun,
 * repeat, or carry invalid text fail the header; a CRC32C mismatch fails it;
 * a UNIQUE_ID over 128 bytes fails it. DGRAM is refused: SMTP is a stream.
 *
 * DIAGNOSTICS: nothing is logged here. Failures are returned, never thrown, as
 * ProxyProtocolError subclasses with a stable code: POSTERN_PROXY_BAD_SIGNATURE,
 * _BAD_VERSION, _BAD_COMMAND, _BAD_FAMILY, _TRUNCATED (one-shot only),
 * _TOO_LONG, _V1_SYNTAX, _BAD_ADDRESS, _BAD_PORT, _BAD_TLV, _CRC_MISMATCH,
 * _UNIQUE_ID_TOO_LONG; each has a fixed `reason` ("bad client port") and the
 * byte `offset`. parser.buffered() returns the bytes held, for the caller to
 * log escaped. Misuse throws ProxyStateError, ProxyOptionsError or
 * ProxyEncodeError (errors.ts).
 */
export { ProxyHeaderParser, parseProxyHeader } from "./parser";
export {
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  type EncodeV2Options,
  type ProxyHeaderInit,
  type ProxySslInit,
  type ProxyTlvsInit,
} from "./encode";
export { crc32c } from "./crc32c";
export {
  sslClientFlags,
  tlvTypes,
  UNIQUE_ID_MAX_LENGTH,
  V1_MAX_LENGTH,
  type OneShotResult,
  type ParseResult,
  type ProxyCommand,
  type ProxyEndpoint,
  type ProxyFamily,
  type ProxyHeader,
  type ProxyParserOptions,
  type ProxyRawTlv,
  type ProxySslInfo,
  type ProxyTlvs,
  type ProxyTransport,
  type ProxyVersion,
} from "./types";
export {
  proxyErrorCodes,
  ProxyBadAddressError,
  ProxyBadCommandError,
  ProxyBadFamilyError,
  ProxyBadPortError,
  ProxyBadSignatureError,
  ProxyBadTlvError,
  ProxyBadVersionError,
  ProxyCrcMismatchError,
  ProxyEncodeError,
  ProxyError,
  ProxyOptionsError,
  ProxyProtocolError,
  ProxyStateError,
  ProxyTooLongError,
  ProxyTruncatedError,
  ProxyUniqueIdTooLongError,
  ProxyV1SyntaxError,
  type ProxyErrorCode,
} from "./errors";
