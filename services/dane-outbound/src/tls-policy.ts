/**
 * Outbound TLS policy: DANE (RFC 7672) and OCSP for one host, around the STARTTLS the SMTP
 * client does. The thin I/O shell over @postern/dane (decisions and chain matching, pure)
 * and @postern/ocsp (staple verification, pure): DNS lookups through the validating
 * resolver, TLS options, the staple, and the check of the peer after the handshake.
 *
 * Flow for one host (the SMTP client calls these in order):
 *   plan(host)          before connecting: hosts_try_dane / hosts_require_dane by IP; MX (route
 *                       `mx`) and address lookups for the AD bit; TLSA at `_25._tcp.<host>` only
 *                       when the address lookup was secure (the CNAME-expanded name first, then
 *                       the original, RFC 7672 2.2.2). A bogus or failed lookup defers the host.
 *   afterEhlo(offered)  DANE hosts without STARTTLS defer (never cleartext).
 *   tlsOptions(base)    for DANE: SNI = TLSA base domain, rejectUnauthorized off and no
 *                       checkServerIdentity (we verify ourselves); requestOCSP when asked.
 *   attach(socket)      right after tls.connect: keeps the stapled OCSP response.
 *   verify(socket)      after the handshake: DANE match (CV=dane), else PKIX + host name (CV=yes),
 *                       else CV=no; the staple verified with @postern/ocsp; failures defer.
 *
 * SECURITY: the peer's certificates and staple are hostile input, handled only by
 * @postern/dane and @postern/ocsp (bounded, strict). The AD bit is trusted only because
 * `dnssec_resolvers` must be a validating resolver on loopback (see libs/dns). A DANE host
 * never falls back to cleartext or to an unauthenticated session: every failure defers.
 */
import { readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import {
  DaneFailReason,
  DaneMode,
  decideDane,
  defaultRequestOcsp,
  DnssecStatus,
  dnssecStatusOf,
  referenceNames,
  verifyPeer,
  type DaneDecision,
  type TlsaLookup,
} from "@postern/dane";
import { offHostServers, type DnsRecord, type Outcome, type TlsaRecord } from "@postern/dns";
import { hostList, hostListSchema, type CompiledList, type ListInput } from "@postern/hostlist";
import { evaluateResponse, prepareCertificates } from "@postern/ocsp";
import { z } from "zod";

/** The lookups the policy needs (a subset of @postern/dns Resolver, from `dnssec_resolvers`). */
export interface DaneResolver {
  query(name: string, type: "A" | "AAAA" | "MX"): Promise<Outcome<DnsRecord>>;
  tlsa(name: string): Promise<Outcome<TlsaRecord>>;
}

/** The dane_outbound options of this file (spread into its config schema). Host lists match the host's IP. */
export const tlsPolicyConfigFields = {
  /** Hosts for which DANE is used when DNSSEC allows it (Exim's hosts_try_dane; default "*"). */
  hosts_try_dane: hostListSchema({ lookups: false }).default(["*"]),
  /** Hosts that must be delivered to over DANE-authenticated TLS, or deferred. */
  hosts_require_dane: hostListSchema({ lookups: false }).default([]),
  /** Hosts asked for an OCSP staple; "*" (default) follows the seed's DANE rule. */
  hosts_request_ocsp: hostListSchema({ lookups: false }).default(["*"]),
  /** Hosts that must staple a verified "good" OCSP response, or are deferred. */
  hosts_require_ocsp: hostListSchema({ lookups: false }).default([]),
  /** CA certificates (PEM file) for CV=yes and for OCSP issuers the server does not send; default Node's CAs. */
  tls_verify_certificates: z.string().min(1).optional(),
  /**
   * Validating resolvers (host:port, loopback only: their AD bit is trusted) for DANE lookups. Default: dns.servers.
   * Setting it also enables DANE for manual `smtp:<host>:<port>` routes; without it only `mx` routes use DANE.
   */
  dnssec_resolvers: z.array(z.string()).default([]),
};

/**
 * DANE's resolvers that are not on this host, when DANE can apply at all ([] otherwise). RFC 7672
 * trusts the AD bit of a validating resolver only over a secure path, in practice a resolver on the
 * same host (Postfix says the same of smtp_dns_support_level = dnssec): from anywhere else a forged
 * AD bit on the wire makes forged TLSA records "secure". The service warns at start.
 */
export function offHostDaneResolvers(config: Pick<TlsPolicyConfig, "hosts_try_dane" | "hosts_require_dane">, daneReachable: boolean, servers: readonly string[]): string[] {
  const listed = (list: ListInput | undefined): boolean => list !== undefined && (typeof list === "string" ? list.trim() !== "" : list.length > 0);
  if (!daneReachable || !(listed(config.hosts_try_dane ?? "*") || listed(config.hosts_require_dane))) return [];
  return offHostServers(servers);
}

/** Exim's smtp transport options for DANE and OCSP (host lists of IP addresses, Exim syntax). */
export interface TlsPolicyConfig {
  /** Default "*": DANE whenever DNSSEC allows it (RFC 7672 opportunistic DANE). */
  hosts_try_dane?: ListInput;
  /** Default none. Matching hosts defer unless DANE-authenticated TLS is possible. */
  hosts_require_dane?: ListInput;
  /** Default "*", which under DANE means the seed's rule (only without DANE or with DANE-TA only). */
  hosts_request_ocsp?: ListInput;
  /** Default none. Matching hosts defer without a verified "good" staple. */
  hosts_require_ocsp?: ListInput;
  /** PEM file of CA certificates for PKIX (CV=yes) and OCSP issuers; default Node's bundled CAs. */
  tls_verify_certificates?: string | undefined;
  /** Also look up DANE for hosts that did not come from an MX lookup (manual routes). Default false. */
  daneForManualRoutes?: boolean;
}

/** One host to deliver to: the HostInfo of the SMTP client plus where it came from. */
export interface PolicyHost {
  /** The MX exchange (or manual route host) name; an IP literal disables DANE. */
  name: string;
  ip: string;
  port: number;
  /** The recipient domain (next-hop domain, RFC 7672 3.2.2). */
  domain?: string;
  /** The host came from an MX lookup of `domain` (its DNSSEC status then matters). */
  viaMx?: boolean;
}

/** Exim's $tls_out_ocsp, as words: 0 not-requested, 1 not-received, 2/3 failed, 4 verified. */
export const OcspState = {
  notRequested: "not-requested",
  notReceived: "not-received",
  failed: "failed",
  verified: "verified",
} as const;
export type OcspState = (typeof OcspState)[keyof typeof OcspState];

/** What the delivery log (X=, CV=) and the events (tls_out_*) report about the session. */
export interface TlsOutcome {
  /** CV= on the delivery log line. */
  cv: "dane" | "yes" | "no";
  /** $tls_out_dane. */
  dane: boolean;
  /** $tls_out_tlsa_usage: bit (1 << usage) per usable TLSA record usage. */
  tlsaUsage: number;
  /** $tls_out_ocsp. */
  ocsp: OcspState;
  /** X= on the delivery log line: protocol:cipher. */
  cipher: string;
  /** The peer's subject (DN=), for logs. */
  peerDn: string;
}

/** Exim's errno values for TLS deferrals (macros.h ERRNO_TLSREQUIRED, ERRNO_TLSFAILURE). */
export const TlsErrno = { tlsRequired: -38, tlsFailure: -39 } as const;

/** A reason to defer the host, with the event to emit for it. */
export interface TlsFailure {
  event: "dane:fail" | "tls:fail:connect";
  /** defer_errno: TlsErrno.tlsRequired (no TLS possible) or TlsErrno.tlsFailure (TLS failed its checks). */
  errno: number;
  /** DaneFailReason for dane:fail, or an OCSP / TLS reason ("ocsp-required", "certificate-invalid" ...). */
  reason: string;
  /** For defer_errstr and the log. */
  errstr: string;
  /** Whether a clear-text retry on this host is allowed (only for opportunistic TLS). */
  clearFallback: boolean;
}

/** The event fields for a TLS session (attributes of msg:delivery and friends). */
export function tlsEventFields(outcome: TlsOutcome | undefined): Record<string, string> {
  if (outcome === undefined) return {};
  return {
    tls_out_dane: outcome.dane ? "yes" : "no",
    tls_out_tlsa_usage: String(outcome.tlsaUsage),
    tls_out_ocsp: outcome.ocsp,
    tls_out_cipher: outcome.cipher,
    tls_out_peerdn: outcome.peerDn,
  };
}

/** Event fields for a TLS / DANE / OCSP deferral: the reason (Exim has no variable for it; names ours). */
export function tlsFailureFields(failure: TlsFailure | undefined): Record<string, string> {
  if (failure === undefined) return {};
  return failure.event === "dane:fail"
    ? { tls_out_dane: "no", dane_fail_reason: failure.reason }
    : { tls_fail_reason: failure.reason };
}

/** ` X=<cipher> CV=<cv>` for the delivery log line ("" without TLS). */
export function tlsLogPart(outcome: TlsOutcome | undefined): string {
  return outcome === undefined ? "" : ` X=${outcome.cipher} CV=${outcome.cv}`;
}

const IP_LITERAL = /^[0-9.]+$|:/;

/** Whether a host list matches the IP; a deferred lookup counts as `onDefer` (a require list fails safe). */
async function listHas(list: CompiledList, ip: string, onDefer: boolean): Promise<boolean> {
  if (ip.length === 0) return false;
  const r = await list.match(ip);
  return r.result === "defer" ? onDefer : r.result === "match";
}

async function modeFor(tryDane: CompiledList, requireDane: CompiledList, ip: string): Promise<DaneMode> {
  if (await listHas(requireDane, ip, true)) return DaneMode.require;
  if (await listHas(tryDane, ip, false)) return DaneMode.try;
  return DaneMode.off;
}

function outcomeStatus(o: Outcome<unknown>): DnssecStatus | "failed" {
  return dnssecStatusOf(o);
}

/** TLSA lookup result in @postern/dane's terms. */
function tlsaLookupOf(o: Outcome<TlsaRecord>): TlsaLookup {
  switch (o.kind) {
    case "answer":
      return { kind: "records", secure: o.authenticated, records: o.records };
    case "nxdomain":
    case "nodata":
      return { kind: "none", secure: o.authenticated };
    case "servfail":
      return { kind: "bogus" };
    case "error":
      return { kind: "failed", detail: o.reason };
    default:
      return { kind: "failed", detail: o.kind };
  }
}

/** The CA certificates of tls_verify_certificates (for OCSP issuers the server did not send). */
function loadCaFile(path: string | undefined): { pem: string | undefined; certs: X509Certificate[] } {
  if (path === undefined) return { pem: undefined, certs: [] };
  const pem = readFileSync(path, "utf8");
  const certs = (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
  return { pem, certs };
}

/** The DER chain as sent, leaf first (getPeerCertificate(true) follows issuer links; self-loops end it). */
export function peerChain(socket: tls.TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c !== undefined && c.raw !== undefined && out.length < 16) {
    const key = c.fingerprint256;
    if (seen.has(key)) break;
    seen.add(key);
    out.push(c.raw);
    c = c.issuerCertificate;
  }
  return out;
}

export class TlsPolicy {
  private readonly tryDane: CompiledList;
  private readonly requireDane: CompiledList;
  private readonly requestOcsp: CompiledList | "default";
  private readonly requireOcsp: CompiledList;
  private readonly ca: { pem: string | undefined; certs: X509Certificate[] };
  private readonly daneForManualRoutes: boolean;

  constructor(
    private readonly resolver: DaneResolver,
    config: TlsPolicyConfig = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.tryDane = hostList(config.hosts_try_dane ?? "*");
    this.requireDane = hostList(config.hosts_require_dane ?? "");
    const req = config.hosts_request_ocsp ?? "*";
    const isDefault = typeof req === "string" ? req.trim() === "*" : req.length === 1 && req[0]?.trim() === "*";
    this.requestOcsp = isDefault ? "default" : hostList(req);
    this.daneForManualRoutes = config.daneForManualRoutes ?? false;
    this.requireOcsp = hostList(config.hosts_require_ocsp ?? "");
    this.ca = loadCaFile(config.tls_verify_certificates);
  }

  /** Everything decided before connecting; DNS failures come back as plan.defer, never thrown. */
  async plan(host: PolicyHost): Promise<TlsPlan> {
    const daneCandidate = !IP_LITERAL.test(host.name) && (host.viaMx === true || this.daneForManualRoutes);
    const mode = daneCandidate ? await modeFor(this.tryDane, this.requireDane, host.ip) : DaneMode.off;
    let decision: DaneDecision;
    let tlsaBase = normal(host.name);
    if (mode === DaneMode.off) {
      decision = decideDane({ mode, mx: DnssecStatus.secure, host: DnssecStatus.secure, tlsa: { kind: "skipped" } });
    } else {
      let mx: DnssecStatus = DnssecStatus.secure;
      if (host.viaMx === true && host.domain !== undefined) {
        const s = outcomeStatus(await this.resolver.query(host.domain, "MX"));
        mx = s === "failed" ? DnssecStatus.insecure : s;
      }
      const addr = await this.resolver.query(host.name, host.ip.length > 0 && isIPv6(host.ip) ? "AAAA" : "A");
      const hs = outcomeStatus(addr);
      // A failed address lookup here (the router already had the address) leaves the host without DANE.
      const hostStatus = hs === "failed" ? DnssecStatus.insecure : hs;
      let tlsa: TlsaLookup = { kind: "skipped" };
      if (mx === DnssecStatus.secure && hostStatus === DnssecStatus.secure) {
        // RFC 7672 2.2.2: with a secure CNAME, the expanded name is the TLSA base domain first.
        const expanded = addr.kind === "answer" ? normal(addr.records[0]?.name ?? host.name) : normal(host.name);
        tlsa = tlsaLookupOf(await this.resolver.tlsa(`_25._tcp.${expanded}`));
        tlsaBase = expanded;
        if (tlsa.kind === "none" && tlsa.secure && expanded !== normal(host.name)) {
          tlsa = tlsaLookupOf(await this.resolver.tlsa(`_25._tcp.${normal(host.name)}`));
          tlsaBase = normal(host.name);
        }
      }
      decision = decideDane({ mode, mx, host: hostStatus, tlsa });
    }
    const usage = decision.kind === "dane" ? decision.usageBits : 0;
    const daneActive = decision.kind === "dane";
    const requireOcsp = await listHas(this.requireOcsp, host.ip, true);
    const requestOcsp =
      requireOcsp || (this.requestOcsp === "default" ? !daneActive || defaultRequestOcsp(usage) : await listHas(this.requestOcsp, host.ip, false));
    const refs = referenceNames(tlsaBase, host.name, host.domain);
    return new TlsPlan(host, mode, decision, tlsaBase, refs, requestOcsp, requireOcsp, this.ca, this.now);
  }
}

function normal(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith(".") ? n.slice(0, -1) : n;
}

export class TlsPlan {
  private staple: Buffer | undefined;

  constructor(
    readonly host: PolicyHost,
    readonly mode: DaneMode,
    readonly decision: DaneDecision,
    /** SNI and the first reference identifier (RFC 7672 8.1). */
    readonly tlsaBase: string,
    readonly referenceNames: readonly string[],
    readonly requestOcsp: boolean,
    readonly requireOcsp: boolean,
    private readonly ca: { pem: string | undefined; certs: X509Certificate[] },
    private readonly now: () => Date,
  ) {}

  /** DANE-authenticated TLS is required: no STARTTLS or a failed check defers, never cleartext. */
  get daneRequired(): boolean {
    return this.decision.kind === "dane";
  }

  /** TLS is mandatory (DANE, or secure TLSA records that are all unusable). */
  get tlsRequired(): boolean {
    return this.decision.kind === "dane" || this.decision.kind === "require-tls";
  }

  /** $tls_out_tlsa_usage. */
  get tlsaUsage(): number {
    return this.decision.kind === "dane" ? this.decision.usageBits : 0;
  }

  /** TLS must happen: DANE applies, or hosts_require_ocsp matches (a staple needs a TLS session). */
  get tlsMandatory(): boolean {
    return this.tlsRequired || this.requireOcsp;
  }

  /** A reason to defer before connecting (DNSSEC bogus, TLSA lookup failure, DANE required but unusable). */
  get defer(): TlsFailure | undefined {
    if (this.decision.kind !== "defer") return undefined;
    const errno = this.decision.reason === DaneFailReason.daneRequired ? TlsErrno.tlsRequired : TlsErrno.tlsFailure;
    return { event: "dane:fail", errno, reason: this.decision.reason, errstr: `DANE: ${this.decision.message}`, clearFallback: false };
  }

  /** After EHLO: a DANE (or hosts_require_ocsp) host that does not offer STARTTLS defers (RFC 7672 2.2). */
  afterEhlo(starttlsOffered: boolean): TlsFailure | undefined {
    if (starttlsOffered || !this.tlsMandatory) return undefined;
    return this.startTlsRefused("STARTTLS not offered");
  }

  /** STARTTLS not offered or refused (`detail`) where TLS is mandatory. */
  startTlsRefused(detail: string): TlsFailure {
    if (this.tlsRequired) {
      return {
        event: "dane:fail",
        errno: TlsErrno.tlsRequired,
        reason: DaneFailReason.starttlsNotSupported,
        errstr: `DANE: TLSA records require TLS but the server did not start it: ${detail}`,
        clearFallback: false,
      };
    }
    return { event: "tls:fail:connect", errno: TlsErrno.tlsRequired, reason: "ocsp-required", errstr: `OCSP required but no TLS session: ${detail}`, clearFallback: false };
  }

  /** The TLS handshake failed where TLS is mandatory. */
  handshakeFailed(detail: string): TlsFailure {
    return this.tlsRequired
      ? { event: "dane:fail", errno: TlsErrno.tlsFailure, reason: DaneFailReason.handshakeFailed, errstr: `DANE: ${detail}`, clearFallback: false }
      : { event: "tls:fail:connect", errno: TlsErrno.tlsFailure, reason: "handshake-failed", errstr: detail, clearFallback: false };
  }

  /** The TLS client options for this host, built on the transport's own. */
  tlsOptions(base: tls.ConnectionOptions): tls.ConnectionOptions {
    // requestOCSP is a tls.connect option missing from @types/node's ConnectionOptions.
    const opts: tls.ConnectionOptions & { requestOCSP?: boolean } = { ...base, rejectUnauthorized: false };
    if (this.ca.pem !== undefined) opts.ca = this.ca.pem;
    if (this.requestOcsp) opts.requestOCSP = true;
    if (!IP_LITERAL.test(this.tlsaBase)) opts.servername = this.tlsaBase;
    // We authenticate the peer ourselves in verify(); Node's own name check must not interfere.
    opts.checkServerIdentity = () => undefined;
    return opts;
  }

  /** Call right after tls.connect (before the handshake ends): keeps the stapled OCSP response. */
  attach(socket: tls.TLSSocket): void {
    socket.once("OCSPResponse", (response: Buffer | null | undefined) => {
      if (response !== null && response !== undefined && response.length > 0) this.staple = Buffer.from(response);
    });
  }

  /** After the handshake: the session's TlsOutcome, or a failure that defers the host. */
  verify(socket: tls.TLSSocket): { outcome: TlsOutcome; failure?: TlsFailure } {
    const chain = peerChain(socket);
    const cipher = `${socket.getProtocol() ?? "TLS"}:${socket.getCipher()?.standardName ?? socket.getCipher()?.name ?? "unknown"}`;
    const leaf = chain[0] === undefined ? undefined : new X509Certificate(chain[0]);
    const outcome: TlsOutcome = {
      cv: "no",
      dane: false,
      tlsaUsage: this.tlsaUsage,
      ocsp: this.requestOcsp ? OcspState.notReceived : OcspState.notRequested,
      cipher,
      peerDn: leaf?.subject.replace(/\n/g, ", ") ?? "",
    };
    if (this.decision.kind === "dane") {
      const v = verifyPeer({ chain, records: this.decision.tlsa.usable, referenceNames: this.referenceNames, now: this.now() });
      if (!v.ok) {
        return {
          outcome,
          failure: { event: "dane:fail", errno: TlsErrno.tlsFailure, reason: DaneFailReason.validationFailure, errstr: `DANE: ${v.reason}`, clearFallback: false },
        };
      }
      outcome.cv = "dane";
      outcome.dane = true;
    } else if (socket.authorized && leaf !== undefined && tls.checkServerIdentity(this.host.name, socket.getPeerCertificate()) === undefined) {
      outcome.cv = "yes";
    }
    const ocspFailure = this.checkStaple(chain, outcome);
    return ocspFailure === undefined ? { outcome } : { outcome, failure: ocspFailure };
  }

  /** Verifies the staple (when one was requested) and enforces hosts_require_ocsp. */
  private checkStaple(chain: Buffer[], outcome: TlsOutcome): TlsFailure | undefined {
    if (!this.requestOcsp) return undefined;
    const fail = (errstr: string): TlsFailure | undefined => {
      outcome.ocsp = this.staple === undefined ? OcspState.notReceived : OcspState.failed;
      return this.requireOcsp ? { event: "tls:fail:connect", errno: TlsErrno.tlsFailure, reason: "ocsp-required", errstr: `OCSP: ${errstr}`, clearFallback: false } : undefined;
    };
    if (this.staple === undefined) return fail("the server stapled no OCSP response (hosts_require_ocsp)");
    const issuer = this.issuerOf(chain);
    if (chain[0] === undefined || issuer === undefined) return fail("the issuer of the server certificate is unknown, the staple cannot be verified");
    let verdict;
    try {
      verdict = evaluateResponse(this.staple, prepareCertificates(chain[0], issuer.raw), { now: this.now() });
    } catch (err) {
      return fail(`the server certificate cannot be checked: ${(err as Error).message}`);
    }
    if (verdict.kind === "good") {
      outcome.ocsp = OcspState.verified;
      return undefined;
    }
    if (verdict.kind === "invalid") return fail(`stapled response invalid (${verdict.code}): ${verdict.reason}`);
    const why = verdict.kind === "revoked" ? `revoked${verdict.response.revocationReason ? ` (${verdict.response.revocationReason})` : ""}` : "unknown to the responder";
    outcome.ocsp = OcspState.failed;
    // A verified "revoked" answer is evidence, not a missing check: it fails the session even when only requested.
    if (verdict.kind === "revoked" || this.requireOcsp) {
      return {
        event: "tls:fail:connect",
        errno: TlsErrno.tlsFailure,
        reason: verdict.kind === "revoked" ? "ocsp-revoked" : "ocsp-required",
        errstr: `OCSP: the server certificate is ${why}`,
        clearFallback: false,
      };
    }
    return undefined;
  }

  /** The certificate that issued the leaf: from the chain the server sent, else from tls_verify_certificates. */
  private issuerOf(chain: Buffer[]): X509Certificate | undefined {
    if (chain[0] === undefined) return undefined;
    const leaf = new X509Certificate(chain[0]);
    const candidates = [...chain.slice(1).map((d) => new X509Certificate(d)), ...this.ca.certs];
    return candidates.find((c) => {
      try {
        return leaf.checkIssued(c) && leaf.verify(c.publicKey);
      } catch {
        return false;
      }
    });
  }
}
