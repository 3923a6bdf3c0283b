/**
 * The command table (after Postfix's smtpd_cmd_table): each verb's state
 * requirement and flags are data; its handler parses the argument and either
 * answers or hands a decision to the adapter.
 */
import { parsePath } from "./address";
import { type ParamContext, parseMailParams, parseRcptParams } from "./params";
import { type Reply } from "./reply";
import { replies } from "./replies";
import {
  type HeloCommand,
  type MailCommand,
  ProtocolErrorKind,
  type RcptCommand,
  type ResolvedOptions,
  type SmtpCommand,
  type Transaction,
} from "./types";

/** What a handler sees of the session. */
export interface CommandContext {
  readonly options: ResolvedOptions;
  readonly helo: HeloCommand | null;
  readonly transaction: Transaction | null;
  paramContext(): ParamContext;
  /** records HELO/EHLO and resets the transaction (RFC 5321 4.1.4) */
  setHelo(cmd: HeloCommand): void;
  resetTransaction(): void;
}

export type Outcome =
  | { readonly kind: "reply"; readonly command: SmtpCommand; readonly reply: Reply; readonly close?: boolean }
  | { readonly kind: "error"; readonly error: ProtocolErrorKind; readonly reply: Reply }
  | { readonly kind: "mail"; readonly command: MailCommand }
  | { readonly kind: "rcpt"; readonly command: RcptCommand }
  | { readonly kind: "data" };

export interface CommandSpec {
  /** state the command needs; checked before its argument is parsed */
  readonly requires: "none" | "helo" | "transaction";
  /** RFC 2920 3.1: must be the last command of a pipelined group */
  readonly endsGroup: boolean;
  /** allowed before STARTTLS on a listener that requires TLS */
  readonly beforeTls: boolean;
  readonly handle: (ctx: CommandContext, args: string) => Outcome;
}

const error = (e: ProtocolErrorKind, reply: Reply): Outcome => ({ kind: "error", error: e, reply });
const syntax = (usage: string): Outcome => error(ProtocolErrorKind.syntax, replies.syntax(usage));

/** "FROM:" / "TO:" then optional spaces (tolerated, as Postfix and Exim do). */
function afterKeyword(args: string, keyword: string): string | null {
  if (args.slice(0, keyword.length).toUpperCase() !== keyword) return null;
  return args.slice(keyword.length).replace(/^ +/, "");
}

export function ehloLines(o: ResolvedOptions): string[] {
  const e = o.extensions;
  const lines = [o.hostname];
  if (e.pipelining) lines.push("PIPELINING");
  if (e.size) lines.push(`SIZE ${o.maxMessageSize}`);
  if (e.eightBitMime) lines.push("8BITMIME");
  if (e.smtputf8) lines.push("SMTPUTF8");
  if (e.enhancedStatusCodes) lines.push("ENHANCEDSTATUSCODES");
  if (e.dsn) lines.push("DSN");
  return lines;
}

function helo(verb: "EHLO" | "HELO"): CommandSpec["handle"] {
  return (ctx, args) => {
    if (args.length === 0) return syntax(`${verb} hostname`);
    const command: HeloCommand = { verb, domain: args };
    ctx.setHelo(command);
    const lines = verb === "EHLO" ? ehloLines(ctx.options) : [ctx.options.hostname];
    return { kind: "reply", command, reply: { code: 250, lines } };
  };
}

function mail(ctx: CommandContext, args: string): Outcome {
  if (ctx.transaction !== null) return error(ProtocolErrorKind.sequence, replies.nestedMail);
  const path = afterKeyword(args, "FROM:");
  if (path === null) return syntax("MAIL FROM:<address>");
  const parsed = parsePath(path, { allowNull: true });
  if (!parsed.ok) return error(ProtocolErrorKind.syntax, replies.badSender);
  const params = parseMailParams(parsed.rest, ctx.paramContext());
  if (!params.ok) return error(ProtocolErrorKind.parameter, params.reply);
  if (parsed.mailbox?.utf8 && !params.params.smtputf8) return error(ProtocolErrorKind.utf8Required, replies.utf8Required);
  const size = params.params.size;
  if (size !== undefined && size > ctx.options.maxMessageSize) {
    return error(ProtocolErrorKind.sizeExceeded, replies.sizeExceeded);
  }
  return { kind: "mail", command: { verb: "MAIL", sender: parsed.mailbox, params: params.params } };
}

function rcpt(ctx: CommandContext, args: string): Outcome {
  const tx = ctx.transaction;
  if (tx === null) return error(ProtocolErrorKind.sequence, replies.needMail);
  const path = afterKeyword(args, "TO:");
  if (path === null) return syntax("RCPT TO:<address>");
  const parsed = parsePath(path, { allowPostmaster: true });
  if (!parsed.ok || parsed.mailbox === null) return error(ProtocolErrorKind.syntax, replies.badRecipient);
  const params = parseRcptParams(parsed.rest, ctx.paramContext());
  if (!params.ok) return error(ProtocolErrorKind.parameter, params.reply);
  if (parsed.mailbox.utf8 && !tx.mail.params.smtputf8) return error(ProtocolErrorKind.utf8Required, replies.utf8Required);
  if (tx.recipients.length >= ctx.options.maxRecipients) {
    return error(ProtocolErrorKind.tooManyRecipients, replies.tooManyRecipients);
  }
  return { kind: "rcpt", command: { verb: "RCPT", recipient: parsed.mailbox, params: params.params } };
}

function data(ctx: CommandContext, args: string): Outcome {
  if (args.length > 0) return syntax("DATA");
  const tx = ctx.transaction;
  if (tx === null) return error(ProtocolErrorKind.sequence, replies.needMail);
  if (tx.rcptAttempts === 0) return error(ProtocolErrorKind.sequence, replies.needRcpt);
  if (tx.recipients.length === 0) return error(ProtocolErrorKind.sequence, replies.noValidRecipients);
  return { kind: "data" };
}

const simple =
  (verb: "RSET" | "NOOP" | "QUIT" | "HELP", answer: (ctx: CommandContext) => Reply, close = false): CommandSpec["handle"] =>
  (ctx, args) => ({ kind: "reply", command: { verb, argument: args }, reply: answer(ctx), close });

function vrfy(ctx: CommandContext, args: string): Outcome {
  const command: SmtpCommand = { verb: "VRFY", argument: args };
  if (ctx.options.vrfy === "disabled") return { kind: "reply", command, reply: replies.vrfyDisabled };
  if (args.length === 0) return syntax("VRFY address");
  return { kind: "reply", command, reply: replies.cannotVrfy };
}

function rset(ctx: CommandContext, args: string): Outcome {
  if (args.length > 0) return syntax("RSET");
  ctx.resetTransaction();
  return { kind: "reply", command: { verb: "RSET", argument: "" }, reply: replies.ok };
}

const spec = (requires: CommandSpec["requires"], endsGroup: boolean, beforeTls: boolean, handle: CommandSpec["handle"]): CommandSpec =>
  ({ requires, endsGroup, beforeTls, handle });

/** verb -> spec. BDAT, STARTTLS and AUTH join this table (issue 4). */
export const commandTable: Readonly<Record<string, CommandSpec>> = {
  EHLO: spec("none", true, true, helo("EHLO")),
  HELO: spec("none", true, true, helo("HELO")),
  MAIL: spec("helo", false, false, mail),
  RCPT: spec("transaction", false, false, rcpt),
  DATA: spec("transaction", true, false, data),
  RSET: spec("none", false, true, rset),
  NOOP: spec("none", true, true, simple("NOOP", () => replies.ok)),
  QUIT: spec("none", true, true, simple("QUIT", () => replies.bye, true)),
  VRFY: spec("none", true, false, vrfy),
  HELP: spec("none", false, true, simple("HELP", () => replies.help)),
};

/** Known SMTP verbs we do not implement: 502 rather than 500. */
export const notImplementedVerbs: ReadonlySet<string> = new Set(["EXPN", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML", "STARTTLS", "AUTH", "BDAT"]);

/** HTTP and proxy verbs: a browser or an open-proxy probe, never a mail client. */
export function isForbiddenVerb(verb: string): boolean {
  return /^(GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH|TRACE|CONNECT)$/.test(verb) || verb.endsWith(":");
}
