/**
 * @postern/dane — DANE for SMTP (RFC 7672): TLSA records, the decision whether DANE applies
 * to a host, and the authentication of the certificate chain a server presents. Pure: the
 * caller does the DNS lookups (through a validating resolver, AD bit), the TLS handshake and
 * supplies `now`.
 *
 * What it does: classifyTlsa keeps usable records (DANE-TA(2), DANE-EE(3); selectors 0/1;
 * matching types 0/1/2) apart from unusable ones (PKIX-TA/EE, unknown parameters, digests of
 * the wrong length); usageBits gives Exim's $tls_out_tlsa_usage; decideDane turns the DNSSEC
 * status of the MX, address and TLSA lookups, hosts_try_dane/hosts_require_dane and whether
 * STARTTLS was offered into dane / require-tls / opportunistic / defer with a reason;
 * verifyPeer matches the presented chain (DANE-EE: leaf only, no names, no dates; DANE-TA:
 * an anchor among the sent certificates, a verified path to it, dates below it and an RFC
 * 6125 name check against the reference identifiers of RFC 7672 3.2.2).
 *
 * STANDARDS: RFC 7672 (SMTP security via opportunistic DANE TLS), RFC 7671 (DANE
 * operational guidance), RFC 6698 (TLSA), RFC 7218 (acronyms), RFC 6125 6.4 (name matching:
 * left-most whole-label wildcards only, CN only without DNS-ID SANs).
 *
 * SECURITY: TLSA data and peer certificates are hostile input. TLSA records with odd
 * parameters or data of the wrong length are unusable, never errors; data over 16 KiB is
 * unusable. Peer chains are cut at 16 certificates and paths at depth 8; every certificate
 * parses through node:crypto's X509Certificate; digests are compared in constant time.
 * Insecure TLSA answers are never used, and every failure that could hide a TLSA RRset
 * (SERVFAIL, timeout) defers instead of falling back to cleartext (RFC 7672 2.2). The AD
 * bit is trusted by the caller only from a validating resolver on a path nobody can tamper
 * with (loopback).
 *
 * DIAGNOSTICS: no logging. Decisions carry a DaneFailReason (dane-required, dnssec-invalid,
 * tlsa-lookup-failed, validation-failure, starttls-not-supported, tls-handshake-failed) and a
 * message; verifyPeer returns `{ ok: false, reason }`. parseTlsaText throws DaneRecordError
 * (POSTERN_DANE_BAD_RECORD).
 */
export {
  Usage,
  Selector,
  MatchingType,
  MAX_TLSA_DATA_BYTES,
  classifyTlsa,
  usageBits,
  tlsaFromRdata,
  parseTlsaText,
  formatTlsa,
  type TlsaRecord,
  type UsableTlsa,
  type UnusableReason,
  type ClassifiedTlsa,
} from "./tlsa";
export { associationData, selectedBytes, matchCertificate } from "./match";
export { matchName, normalName, referenceNames } from "./names";
export { verifyPeer, MAX_PEER_CERTS, MAX_CHAIN_DEPTH, type PeerInput, type PeerVerdict } from "./verify";
export {
  decideDane,
  dnssecStatusOf,
  defaultRequestOcsp,
  DnssecStatus,
  DaneMode,
  type DaneDecision,
  type DaneInput,
  type TlsaLookup,
} from "./policy";
export { DaneError, DaneErrorCode, DaneFailReason, DaneRecordError } from "./errors";
