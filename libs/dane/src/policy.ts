/**
 * The RFC 7672 decision for one MX host, as a pure function of what DNS and the server said
 * and what the configuration asks for. No I/O: callers do the lookups and the EHLO.
 *
 *   mode "off"      (neither hosts_try_dane nor hosts_require_dane matches): no DANE.
 *   MX or address lookup bogus                          → defer dnssec-invalid (2.2)
 *   MX or address insecure                              → no DANE: require → defer dane-required, try → opportunistic (2.2.1, 2.2.2)
 *   TLSA SERVFAIL (bogus)                               → defer dnssec-invalid, never cleartext (2.2)
 *   TLSA timeout / error                                → defer tlsa-lookup-failed
 *   TLSA insecure, NXDOMAIN or NODATA                   → no DANE: require → defer dane-required, try → opportunistic (2.2.3)
 *   secure TLSA, some usable                            → dane: STARTTLS mandatory, peer authenticated (2.2.3, 3.1)
 *   secure TLSA, none usable                            → require → defer dane-required; try → require-tls:
 *                                                         STARTTLS mandatory but unauthenticated (3.1.3)
 *   after EHLO: dane or require-tls without STARTTLS    → defer starttls-not-supported (2.2)
 */
import { DaneFailReason } from "./errors";
import { classifyTlsa, type ClassifiedTlsa, type TlsaRecord, usageBits } from "./tlsa";

/** DNSSEC status of an answer: AD set (secure), not set (insecure), or validation failed (bogus = SERVFAIL). */
export const DnssecStatus = { secure: "secure", insecure: "insecure", bogus: "bogus" } as const;
export type DnssecStatus = (typeof DnssecStatus)[keyof typeof DnssecStatus];

/** What hosts_require_dane / hosts_try_dane say about this host; require wins when both match. */
export const DaneMode = { off: "off", try: "try", require: "require" } as const;
export type DaneMode = (typeof DaneMode)[keyof typeof DaneMode];

/** The TLSA lookup at `_25._tcp.<host>`. */
export type TlsaLookup =
  /** Not done: the host lookup was not secure, or DANE is off. */
  | { readonly kind: "skipped" }
  | { readonly kind: "records"; readonly secure: boolean; readonly records: readonly TlsaRecord[] }
  /** NXDOMAIN or NODATA (secure or not: either way no TLSA). */
  | { readonly kind: "none"; readonly secure: boolean }
  /** SERVFAIL from the validating resolver. */
  | { readonly kind: "bogus" }
  /** Timeout, REFUSED, network or format error. */
  | { readonly kind: "failed"; readonly detail: string };

export interface DaneInput {
  readonly mode: DaneMode;
  /** The MX lookup; "secure" for a manual route (no MX lookup) or when the host is the domain itself. */
  readonly mx: DnssecStatus;
  /** The address lookup of the host (A/AAAA, after CNAMEs). */
  readonly host: DnssecStatus;
  readonly tlsa: TlsaLookup;
  /** After EHLO: whether STARTTLS was offered. Leave undefined for the decision before connecting. */
  readonly starttlsOffered?: boolean;
}

export type DaneDecision =
  | {
      /** require-dane-tls: STARTTLS mandatory, the peer must match a usable record. */
      readonly kind: "dane";
      readonly tlsa: ClassifiedTlsa;
      /** $tls_out_tlsa_usage of the usable records. */
      readonly usageBits: number;
    }
  | {
      /** Secure TLSA records exist but none is usable: TLS is mandatory, authentication is not possible. */
      readonly kind: "require-tls";
      readonly tlsa: ClassifiedTlsa;
      readonly usageBits: 0;
    }
  | { readonly kind: "opportunistic"; readonly why: string }
  | { readonly kind: "defer"; readonly reason: DaneFailReason; readonly message: string };

function noDane(mode: DaneMode, why: string): DaneDecision {
  return mode === DaneMode.require
    ? { kind: "defer", reason: DaneFailReason.daneRequired, message: `DANE required but not usable: ${why}` }
    : { kind: "opportunistic", why };
}

/** Before connecting: what DNS allows. See the table at the top of this file. */
function beforeConnect(input: DaneInput): DaneDecision {
  if (input.mode === DaneMode.off) return { kind: "opportunistic", why: "DANE not configured for this host" };
  if (input.mx === DnssecStatus.bogus) return { kind: "defer", reason: DaneFailReason.dnssecInvalid, message: "DNSSEC validation of the MX lookup failed" };
  if (input.host === DnssecStatus.bogus) return { kind: "defer", reason: DaneFailReason.dnssecInvalid, message: "DNSSEC validation of the host address lookup failed" };
  if (input.mx === DnssecStatus.insecure) return noDane(input.mode, "the MX lookup is not DNSSEC-secure");
  if (input.host === DnssecStatus.insecure) return noDane(input.mode, "the host address lookup is not DNSSEC-secure");
  const t = input.tlsa;
  switch (t.kind) {
    case "skipped":
      return noDane(input.mode, "no TLSA lookup was done");
    case "bogus":
      return { kind: "defer", reason: DaneFailReason.dnssecInvalid, message: "DNSSEC validation of the TLSA lookup failed" };
    case "failed":
      return { kind: "defer", reason: DaneFailReason.tlsaLookupFailed, message: `TLSA lookup failed: ${t.detail}` };
    case "none":
      return noDane(input.mode, t.secure ? "no TLSA records" : "no TLSA records (insecure denial)");
    case "records": {
      if (!t.secure) return noDane(input.mode, "the TLSA records are not DNSSEC-secure");
      const tlsa = classifyTlsa(t.records);
      if (tlsa.usable.length > 0) return { kind: "dane", tlsa, usageBits: usageBits(tlsa.usable) };
      if (input.mode === DaneMode.require) return noDane(input.mode, "no usable TLSA records (only PKIX or unknown parameters)");
      return { kind: "require-tls", tlsa, usageBits: 0 };
    }
  }
}

/** The RFC 7672 decision; call it before connecting (starttlsOffered undefined) and again after EHLO. */
export function decideDane(input: DaneInput): DaneDecision {
  const d = beforeConnect(input);
  if (input.starttlsOffered === false && (d.kind === "dane" || d.kind === "require-tls")) {
    return { kind: "defer", reason: DaneFailReason.starttlsNotSupported, message: "DANE applies but the server does not offer STARTTLS" };
  }
  return d;
}

/** The DNSSEC status of a @postern/dns-style outcome: answer/nxdomain/nodata with AD → secure; servfail → bogus. */
export function dnssecStatusOf(outcome: { readonly kind: string; readonly authenticated?: boolean }): DnssecStatus | "failed" {
  switch (outcome.kind) {
    case "answer":
    case "nxdomain":
    case "nodata":
      return outcome.authenticated === true ? DnssecStatus.secure : DnssecStatus.insecure;
    case "servfail":
      return DnssecStatus.bogus;
    default:
      return "failed";
  }
}

/**
 * The seed's default for hosts_request_ocsp under DANE: when the option is left at "*",
 * request a staple only without DANE (usage bits 0) or with DANE-TA only (4), since a
 * DANE-EE pin makes the CA's revocation status moot.
 */
export function defaultRequestOcsp(usageBitsValue: number): boolean {
  return usageBitsValue === 0 || usageBitsValue === 1 << 2;
}
