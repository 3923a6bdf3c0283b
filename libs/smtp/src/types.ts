/** Commands, transactions, events and options of the protocol engine. */
import type { Mailbox } from "./address";
import type { DataInfo } from "./data";
import type { MailParams, RcptParams } from "./params";
import type { Reply } from "./reply";

export interface HeloCommand {
  readonly verb: "EHLO" | "HELO";
  /** the argument as sent (a domain or an address literal, not validated further) */
  readonly domain: string;
}
export interface MailCommand {
  readonly verb: "MAIL";
  /** null for the null reverse-path <> */
  readonly sender: Mailbox | null;
  readonly params: MailParams;
}
export interface RcptCommand {
  readonly verb: "RCPT";
  readonly recipient: Mailbox;
  readonly params: RcptParams;
}
export interface SimpleCommand {
  readonly verb: "DATA" | "RSET" | "NOOP" | "QUIT" | "VRFY" | "HELP";
  readonly argument: string;
}
/** One BDAT chunk (RFC 3030); reported by a "command" event when a non-LAST chunk was stored. */
export interface BdatCommand {
  readonly verb: "BDAT";
  /** the announced chunk size in octets */
  readonly size: number;
  readonly last: boolean;
}
export type SmtpCommand = HeloCommand | MailCommand | RcptCommand | SimpleCommand | BdatCommand;

export interface Transaction {
  readonly mail: MailCommand;
  /** accepted recipients in RCPT order */
  readonly recipients: readonly RcptCommand[];
  /** RCPT commands that reached a decision, accepted or not */
  readonly rcptAttempts: number;
}

/** Why the engine refused a command line on its own. */
export const ProtocolErrorKind = {
  lineTooLong: "line_too_long",
  badBytes: "bad_bytes",
  unknownCommand: "unknown_command",
  notImplemented: "not_implemented",
  forbiddenCommand: "forbidden_command",
  syntax: "syntax",
  parameter: "parameter",
  sequence: "sequence",
  utf8Required: "utf8_required",
  tooManyRecipients: "too_many_recipients",
  sizeExceeded: "size_exceeded",
  tooManyErrors: "too_many_errors",
  /** input before the banner (Exim: "input sent without waiting for greeting") */
  syncGreeting: "sync_greeting",
  /** input before the reply to a command that must be synchronised */
  syncPipelining: "sync_pipelining",
  /** 530/538: the command needs TLS first */
  tlsRequired: "tls_required",
  /** "*" during an AUTH exchange */
  authCancelled: "auth_cancelled",
  /** bad base64 or a malformed SASL response */
  authMalformed: "auth_malformed",
} as const;
export type ProtocolErrorKind = (typeof ProtocolErrorKind)[keyof typeof ProtocolErrorKind];

export type MessageRejectReason = "size" | "bare_newline" | "line_length";

/** How the message content arrived. */
export type ContentVia = "DATA" | "BDAT";

export type AuthMechanism = "PLAIN" | "LOGIN";

/** What the client proved with AUTH; the username is the SASL authentication identity. */
export interface AuthIdentity {
  readonly mechanism: AuthMechanism;
  readonly username: string;
  /** the authorization identity asked for ("" when none) */
  readonly authzid: string;
}

/**
 * What next() yields. "mail", "rcpt", "data", "dataEnd", "prdrEnd", "starttls"
 * and "auth" wait for the adapter's answer (respond(), or respondPrdr() for
 * "prdrEnd"); every other event already carries the reply the engine queued.
 */
export type SmtpEvent =
  | { readonly type: "command"; readonly command: SmtpCommand; readonly reply: Reply }
  | { readonly type: "mail"; readonly command: MailCommand }
  | { readonly type: "rcpt"; readonly command: RcptCommand; readonly transaction: Transaction }
  /** answer 354 to take the content (for BDAT the engine then sends nothing), or 4xx/5xx */
  | { readonly type: "data"; readonly transaction: Transaction; readonly via: ContentVia }
  | { readonly type: "body"; readonly chunk: Buffer }
  | { readonly type: "dataEnd"; readonly transaction: Transaction; readonly info: DataInfo; readonly via: ContentVia }
  | {
      readonly type: "dataRejected";
      readonly transaction: Transaction;
      readonly info: DataInfo;
      readonly reason: MessageRejectReason;
      readonly reply: Reply;
      readonly via: ContentVia;
    }
  /** end of content of a PRDR transaction with several recipients: respondPrdr(), or respond() for one reply for all */
  | { readonly type: "prdrEnd"; readonly transaction: Transaction; readonly info: DataInfo; readonly via: ContentVia }
  /** a valid STARTTLS: answer replies.readyToStartTls (then upgrade and call tlsStarted()) or a 454 */
  | { readonly type: "starttls" }
  /** a complete AUTH exchange: answer 235, 535, 454 or 534 */
  | {
      readonly type: "auth";
      readonly mechanism: AuthMechanism;
      readonly authzid: string;
      readonly username: string;
      readonly password: string;
    }
  | {
      readonly type: "error";
      readonly kind: ProtocolErrorKind;
      readonly reply: Reply;
      /** the offending line (or early input), escaped for logs and cut to 200 characters; AUTH data is never included */
      readonly line: string;
      /** the session is closed after this reply */
      readonly close: boolean;
    };

export type PendingType = "mail" | "rcpt" | "data" | "dataEnd" | "prdrEnd" | "starttls" | "auth";

export interface ExtensionOptions {
  readonly pipelining: boolean;
  readonly size: boolean;
  readonly eightBitMime: boolean;
  readonly smtputf8: boolean;
  readonly enhancedStatusCodes: boolean;
  readonly dsn: boolean;
  /** CHUNKING/BDAT (RFC 3030); when off BDAT is answered 502 as before */
  readonly chunking: boolean;
  /** BINARYMIME (RFC 3030), only together with chunking; default off */
  readonly binaryMime: boolean;
}

/** feed() options: see SmtpServerSession.feed. */
export interface FeedOptions {
  /** the chunk completes one read from the socket; only such input is judged by the synchronisation check */
  readonly endOfRead?: boolean;
}

/** What tlsStarted() reports: plaintext that followed STARTTLS and was thrown away (CVE-2011-0411). */
export interface TlsStartResult {
  readonly discardedBytes: number;
  /** the first discarded bytes, escaped for logs ("" when none) */
  readonly discarded: string;
}

export interface SessionOptions {
  /** our name in the EHLO reply and the engine's replies */
  readonly hostname: string;
  /** SIZE limit in octets (advertised and enforced) */
  readonly maxMessageSize: number;
  /** RCPT commands beyond this get 452 4.5.3 */
  readonly maxRecipients?: number;
  /** command line limit including CRLF (RFC 5321 4.5.3.1.4: at least 512) */
  readonly maxCommandLine?: number;
  /** refused commands before 421 and close */
  readonly maxErrors?: number;
  /** VRFY: 502 (disabled) or 252 (cannot verify, will try delivery) */
  readonly vrfy?: "disabled" | "cannot-verify";
  readonly extensions?: Partial<ExtensionOptions>;
  /** Exim's smtp_enforce_sync (default true); applies to input fed with { endOfRead } */
  readonly syncCheck?: boolean;
  /** STARTTLS can be offered (a certificate is configured); default false */
  readonly tlsAvailable?: boolean;
  /** the connection is already encrypted (TLS on connect); default false */
  readonly tlsActive?: boolean;
  /** submission: everything but EHLO/HELO/STARTTLS/RSET/NOOP/QUIT/HELP gets 530 before TLS; default false */
  readonly requireTls?: boolean;
  /** offer AUTH (RFC 4954); default false */
  readonly auth?: boolean;
  /** default ["PLAIN", "LOGIN"] */
  readonly authMechanisms?: readonly AuthMechanism[];
  /** offer AUTH without TLS; default false */
  readonly allowInsecureAuth?: boolean;
  /** AUTH command and exchange line limit including CRLF (RFC 4954 section 4: 12288) */
  readonly maxAuthLine?: number;
  /** PRDR (draft-hall-prdr-00); default false */
  readonly prdr?: boolean;
  /** octets of queued replies past which next() stops parsing until takeOutput() (outputFull); default 65536 */
  readonly maxOutputBuffer?: number;
  /**
   * octets per line of message content, CRLF not counted: a message with a longer line is refused at its end
   * (500 5.5.2, RFC 5321 4.5.3.1.6 and 4.5.3.1.10; BODY=BINARYMIME is exempt). 0 (default): no limit, and
   * DataInfo.longLines reports lines over 998 octets
   */
  readonly maxTextLine?: number;
}

export interface ResolvedOptions {
  readonly hostname: string;
  readonly maxMessageSize: number;
  readonly maxRecipients: number;
  readonly maxCommandLine: number;
  readonly maxErrors: number;
  readonly vrfy: "disabled" | "cannot-verify";
  readonly extensions: ExtensionOptions;
  readonly syncCheck: boolean;
  readonly tlsAvailable: boolean;
  readonly tlsActive: boolean;
  readonly requireTls: boolean;
  readonly auth: boolean;
  readonly authMechanisms: readonly AuthMechanism[];
  readonly allowInsecureAuth: boolean;
  readonly maxAuthLine: number;
  readonly prdr: boolean;
  readonly maxOutputBuffer: number;
  readonly maxTextLine: number;
}
