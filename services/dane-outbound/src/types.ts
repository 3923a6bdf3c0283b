import type { TlsFailure, TlsOutcome } from "./tls-policy";

/** One recipient of a message as the delivery code sees it. */
export interface Target {
  /** Position in MailRecord.recipients (stable across redeliveries of the same record). */
  pos: number;
  address: string;
  localPart: string;
  /** Lower-cased domain. */
  domain: string;
  notify: readonly string[];
  /** RFC 3461 ORCPT as received ("rfc822;addr"), empty when none. */
  orcpt?: string;
}

/** The host a delivery talked to (smtp/lmtp). */
export interface HostInfo {
  name: string;
  ip: string;
  port: number;
}

/** What the remote MTA said about itself (Exim's DSN_INFO): the banner and the first line of the EHLO/HELO reply. */
export interface RemoteInfo {
  greeting?: string;
  heloResponse?: string;
}

/** One host that deferred this recipient before the final result (msg:host:defer / msg:rcpt:host:defer). */
export interface HostDefer {
  host: HostInfo;
  errno: number;
  errstr: string;
  /** "host": the whole host failed (connect, greeting, time-out, closed); "rcpt": this recipient was deferred there. */
  level: "host" | "rcpt";
  /** DANE / TLS / OCSP check that deferred the host (a dane:fail or tls:fail:connect event). */
  tlsFailure?: TlsFailure;
}

interface ResultExtras {
  host?: HostInfo;
  remote?: RemoteInfo;
  /** Hosts tried earlier in this attempt that deferred. */
  tried?: HostDefer[];
  /** The TLS session the result was obtained over (X=, CV=, tls_out_* event fields). */
  tls?: TlsOutcome;
  /** The DANE / TLS / OCSP check that deferred this host. */
  tlsFailure?: TlsFailure;
}

export type RcptResult =
  | ({ status: "delivered"; confirmation: string } & ResultExtras)
  | ({ status: "deferred"; errno: number; errstr: string; dnsFail?: boolean } & ResultExtras)
  | ({ status: "failed"; errno: number; errstr: string; internal?: boolean } & ResultExtras);

/** What a transport needs to deliver one message to a group of recipients. */
export interface DeliveryJob {
  messageId: string;
  sender: string;
  body: Buffer;
  smtpUtf8: boolean;
  bodyType: string;
  dsnRet: "FULL" | "HDRS" | undefined;
  dsnEnvid: string;
  recipients: readonly Target[];
  /** Lower-cased recipient domain of the group (per-domain limits, MX lookup). */
  domain?: string;
  /** Keeps the JetStream message alive during long deliveries. */
  working(): void;
}

/** A transport answers one result per recipient, in job.recipients order. */
export type Transport = (job: DeliveryJob) => Promise<RcptResult[]>;

/** Exim's errno values for SMTP-level deferrals (macros.h), and system ones by name. */
export const Errno = {
  SmtpClosed: -18,
  SmtpFormat: -19,
  ConnectTimeout: -43,
  Rcpt4xx: -44,
  Mail4xx: -45,
  Data4xx: -46,
  Utf8Fwd: -49,
  NoRouter: -52,
  /** DNS lookup of the routing domain failed temporarily (Exim ERRNO_... via host_find_failed). */
  DnsDefer: -100,
} as const;
