/** One recipient of a message as the delivery code sees it. */
export interface Target {
  /** Position in MailRecord.recipients (stable across redeliveries of the same record). */
  pos: number;
  address: string;
  localPart: string;
  /** Lower-cased domain. */
  domain: string;
  notify: readonly string[];
}

/** The host a delivery talked to (smtp/lmtp). */
export interface HostInfo {
  name: string;
  ip: string;
  port: number;
}

export type RcptResult =
  | { status: "delivered"; confirmation: string; host?: HostInfo }
  | { status: "deferred"; errno: number; errstr: string; host?: HostInfo }
  | { status: "failed"; errno: number; errstr: string; host?: HostInfo; internal?: boolean };

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
} as const;
