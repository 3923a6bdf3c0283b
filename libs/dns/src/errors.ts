/**
 * Named errors and stable codes of @postern/dns.
 *
 * DNS failures are not exceptions: they come back as outcomes (see types.ts), and an
 * `{ kind: "error" }` outcome carries one of the DnsErrorCode values below. The only class
 * thrown is DnsConfigError, for a resolver built with options that cannot work (a bug in the
 * caller or the configuration file). Codes cross NATS and gRPC; classes don't.
 */

/** Stable codes of `{ kind: "error" }` outcomes. */
export const DnsErrorCode = {
  /** The query name is not a valid DNS name (empty label, label > 63 or name > 253 octets). */
  InvalidName: "POSTERN_DNS_INVALID_NAME",
  /** A socket failed: ICMP port unreachable, connection refused or reset, closed early. */
  Network: "POSTERN_DNS_NETWORK",
  /** The server answered, but not usefully: FORMERR, NOTIMP, an extended rcode, a referral. */
  BadResponse: "POSTERN_DNS_BAD_RESPONSE",
  /** The CNAME chain in the answer loops or is longer than the configured bound. */
  CnameChain: "POSTERN_DNS_CNAME_CHAIN",
} as const;
export type DnsErrorCode = (typeof DnsErrorCode)[keyof typeof DnsErrorCode];

/** Resolver options that cannot work: no usable server, a bad address, a bad timeout. */
export class DnsConfigError extends Error {
  override readonly name = "DnsConfigError";
  readonly code = "POSTERN_DNS_CONFIG_INVALID";
  /** The option at fault, e.g. "servers[1]" or "timeoutMs". */
  readonly option: string;

  constructor(option: string, message: string, options?: ErrorOptions) {
    super(`invalid DNS resolver option ${option}: ${message}`, options);
    this.option = option;
  }
}
