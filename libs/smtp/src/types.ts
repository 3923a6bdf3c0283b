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
export type SmtpCommand = HeloCommand | MailCommand | RcptCommand | SimpleCommand;

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
} as const;
export type ProtocolErrorKind = (typeof ProtocolErrorKind)[keyof typeof ProtocolErrorKind];

export type MessageRejectReason = "size" | "bare_newline";

/**
 * What next() yields. "mail", "rcpt", "data" and "dataEnd" wait for the
 * adapter's respond(reply); every other event already carries the reply the
 * engine queued.
 */
export type SmtpEvent =
  | { readonly type: "command"; readonly command: SmtpCommand; readonly reply: Reply }
  | { readonly type: "mail"; readonly command: MailCommand }
  | { readonly type: "rcpt"; readonly command: RcptCommand; readonly transaction: Transaction }
  | { readonly type: "data"; readonly transaction: Transaction }
  | { readonly type: "body"; readonly chunk: Buffer }
  | { readonly type: "dataEnd"; readonly transaction: Transaction; readonly info: DataInfo }
  | {
      readonly type: "dataRejected";
      readonly transaction: Transaction;
      readonly info: DataInfo;
      readonly reason: MessageRejectReason;
      readonly reply: Reply;
    }
  | {
      readonly type: "error";
      readonly kind: ProtocolErrorKind;
      readonly reply: Reply;
      /** the offending line, escaped for logs and cut to 200 characters */
      readonly line: string;
      /** the session is closed after this reply */
      readonly close: boolean;
    };

export type PendingType = "mail" | "rcpt" | "data" | "dataEnd";

export interface ExtensionOptions {
  readonly pipelining: boolean;
  readonly size: boolean;
  readonly eightBitMime: boolean;
  readonly smtputf8: boolean;
  readonly enhancedStatusCodes: boolean;
  readonly dsn: boolean;
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
}

export interface ResolvedOptions {
  readonly hostname: string;
  readonly maxMessageSize: number;
  readonly maxRecipients: number;
  readonly maxCommandLine: number;
  readonly maxErrors: number;
  readonly vrfy: "disabled" | "cannot-verify";
  readonly extensions: ExtensionOptions;
}
