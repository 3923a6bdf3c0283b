/**
 * The command table (after Postfix's smtpd_cmd_table): each verb's state
 * requirement and flags are data; its handler parses the argument and either
 * answers or hands a decision to the adapter.
 */
import { parsePath } from "./address";
import { type BdatArgs, parseBdatArgs } from "./bdat";
import { type ParamContext, parseMailParams, parseRcptParams } from "./params";
import { type Reply } from "./reply";
import { replies } from "./replies";
import {
  type AuthMechanism,
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
  /** TLS is active on the connection */
  readonly tls: boolean;
  /** requireTls and TLS not active yet */
  readonly mustStartTls: boolean;
  readonly authenticated: boolean;
  /** the current transaction has BDAT chunks and no LAST yet */
  readonly bdatActive: boolean;
  paramContext(): ParamContext;
  /** records HELO/EHLO and resets the transaction (RFC 5321 4.1.4) */
  setHelo(cmd: HeloCommand): void;
  resetTransaction(): void;
}

export type Outcome =
  | { readonly kind: "reply"; readonly command: SmtpCommand; readonly reply: Reply; readonly close?: boolean }
  | { readonly kind: "error"; readonly error: ProtocolErrorKind; readonly reply: Reply; readonly close?: boolean }
  | { readonly kind: "mail"; readonly command: MailCommand }
  | { readonly kind: "rcpt"; readonly command: RcptCommand }
  | { readonly kind: "data" }
  /** a well-formed BDAT: its octets are consumed whatever happens; refused with `refusal` at the end of the chunk */
  | { readonly kind: "bdat"; readonly args: BdatArgs; readonly refusal?: { readonly error: ProtocolErrorKind; readonly reply: Reply } }
  | { readonly kind: "starttls" }
  | { readonly kind: "auth"; readonly mechanism: AuthMechanism; readonly initial: string | undefined };

export interface CommandSpec {
  /** state the command needs; checked before its argument is parsed */
  readonly requires: "none" | "helo" | "transaction";
  /** RFC 2920 3.1: must be the last command of a pipelined group */
  readonly endsGroup: boolean;
  /** allowed before STARTTLS on a listener that requires TLS */
  readonly beforeTls: boolean;
  /**
   * Synchronisation check (sync.ts): "always" must be synchronised (ends a
   * pipelining group), "withoutPipelining" only when PIPELINING is not in use,
   * "never" is not checked (QUIT and HELP as in Exim; AUTH, whose exchange is
   * synchronous anyway; BDAT, whose chunk follows the command line).
   */
  readonly sync: "always" | "withoutPipelining" | "never";
  /** allowed between BDAT chunks of a transaction */
  readonly afterBdat: boolean;
  /** the extension is offered; when false the verb gets 502 as an unimplemented one */
  readonly available?: (o: ResolvedOptions, tls: boolean) => boolean;
  readonly handle: (ctx: CommandContext, args: string) => Outcome;
}

const error = (e: ProtocolErrorKind, reply: Reply): Outcome => ({ kind: "error", error: e, reply });
const syntax = (usage: string): Outcome => error(ProtocolErrorKind.syntax, replies.syntax(usage));

/** "FROM:" / "TO:" then optional spaces (tolerated, as Postfix and Exim do). */
function afterKeyword(args: string, keyword: string): string | null {
  if (args.slice(0, keyword.length).toUpperCase() !== keyword) return null;
  return args.slice(keyword.length).replace(/^ +/, "");
}

/** AUTH is offered: enabled, and TLS is active unless insecure AUTH is allowed. */
export function authOffered(o: ResolvedOptions, tls: boolean): boolean {
  return o.auth && (tls || o.allowInsecureAuth);
}

/**
 * The EHLO reply lines. `tls` is whether TLS is active now. The extensions
 * added with issue 4 come before PIPELINING so that the original list keeps
 * its order and still ends with DSN.
 */
export function ehloLines(o: ResolvedOptions, tls = o.tlsActive): string[] {
  const e = o.extensions;
  const lines = [o.hostname];
  if (o.tlsAvailable && !tls) lines.push("STARTTLS");
  if (authOffered(o, tls)) lines.push(`AUTH ${o.authMechanisms.join(" ")}`);
  if (e.chunking) lines.push("CHUNKING");
  if (e.chunking && e.binaryMime) lines.push("BINARYMIME");
  if (o.prdr) lines.push("PRDR");
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
    const lines = verb === "EHLO" ? ehloLines(ctx.options, ctx.tls) : [ctx.options.hostname];
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
  if (tx.mail.params.body === "BINARYMIME") return error(ProtocolErrorKind.sequence, replies.binaryNeedsBdat);
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

/** BDAT (RFC 3030). Refusals still consume the chunk: see Outcome "bdat". */
function bdat(ctx: CommandContext, args: string): Outcome {
  const parsed = parseBdatArgs(args);
  // without a size the end of the chunk cannot be found: the session closes
  if (parsed === null) return { kind: "error", error: ProtocolErrorKind.syntax, reply: replies.bdatSyntax, close: true };
  const refuse = (e: ProtocolErrorKind, reply: Reply): Outcome => ({ kind: "bdat", args: parsed, refusal: { error: e, reply } });
  if (ctx.mustStartTls) return refuse(ProtocolErrorKind.tlsRequired, replies.tlsRequired);
  if (ctx.helo?.verb !== "EHLO") return refuse(ProtocolErrorKind.sequence, ctx.helo === null ? replies.needHelo : replies.needEhlo);
  const tx = ctx.transaction;
  if (tx === null) return refuse(ProtocolErrorKind.sequence, replies.needMail);
  if (!ctx.bdatActive && tx.rcptAttempts === 0) return refuse(ProtocolErrorKind.sequence, replies.needRcpt);
  if (!ctx.bdatActive && tx.recipients.length === 0) return refuse(ProtocolErrorKind.sequence, replies.noValidRecipients);
  return { kind: "bdat", args: parsed };
}

/** STARTTLS (RFC 3207). */
function starttls(ctx: CommandContext, args: string): Outcome {
  if (args.length > 0) return syntax("STARTTLS");
  if (ctx.tls) return error(ProtocolErrorKind.sequence, replies.tlsActive);
  if (ctx.helo?.verb !== "EHLO") return error(ProtocolErrorKind.sequence, replies.needEhlo);
  if (ctx.transaction !== null) return error(ProtocolErrorKind.sequence, replies.inTransaction);
  return { kind: "starttls" };
}

/** AUTH mechanism [initial-response] (RFC 4954). */
function auth(ctx: CommandContext, args: string): Outcome {
  if (ctx.helo?.verb !== "EHLO") return error(ProtocolErrorKind.sequence, ctx.helo === null ? replies.needHelo : replies.needEhlo);
  if (ctx.authenticated) return error(ProtocolErrorKind.sequence, replies.authAlready);
  if (ctx.transaction !== null) return error(ProtocolErrorKind.sequence, replies.authInTransaction);
  if (!authOffered(ctx.options, ctx.tls)) return error(ProtocolErrorKind.tlsRequired, replies.authNeedsTls);
  const m = /^([A-Za-z0-9_-]{1,20})(?: ([^ ]+))?$/.exec(args);
  if (m === null) return syntax("AUTH mechanism [initial-response]");
  const mechanism = (m[1] ?? "").toUpperCase() as AuthMechanism;
  if (!ctx.options.authMechanisms.includes(mechanism)) return error(ProtocolErrorKind.parameter, replies.authMechanism);
  return { kind: "auth", mechanism, initial: m[2] };
}

type SpecFlags = Pick<CommandSpec, "requires" | "endsGroup" | "beforeTls" | "sync" | "afterBdat" | "available">;
const spec = (flags: SpecFlags, handle: CommandSpec["handle"]): CommandSpec => ({ ...flags, handle });
const none = "none";
const needsTls = (requires: CommandSpec["requires"], sync: CommandSpec["sync"]): SpecFlags =>
  ({ requires, endsGroup: sync === "always", beforeTls: false, sync, afterBdat: false });

/** verb -> spec: state requirements and flags are data (after Postfix's smtpd_cmd_table). */
export const commandTable: Readonly<Record<string, CommandSpec>> = {
  EHLO: spec({ requires: none, endsGroup: true, beforeTls: true, sync: "always", afterBdat: false }, helo("EHLO")),
  HELO: spec({ requires: none, endsGroup: true, beforeTls: true, sync: "always", afterBdat: false }, helo("HELO")),
  MAIL: spec(needsTls("helo", "withoutPipelining"), mail),
  RCPT: spec(needsTls("transaction", "withoutPipelining"), rcpt),
  DATA: spec(needsTls("transaction", "always"), data),
  BDAT: spec({ requires: none, endsGroup: false, beforeTls: true, sync: "never", afterBdat: true, available: (o) => o.extensions.chunking }, bdat),
  RSET: spec({ requires: none, endsGroup: false, beforeTls: true, sync: "withoutPipelining", afterBdat: true }, rset),
  NOOP: spec({ requires: none, endsGroup: true, beforeTls: true, sync: "always", afterBdat: true }, simple("NOOP", () => replies.ok)),
  QUIT: spec({ requires: none, endsGroup: true, beforeTls: true, sync: "never", afterBdat: true }, simple("QUIT", () => replies.bye, true)),
  VRFY: spec(needsTls(none, "always"), vrfy),
  HELP: spec({ requires: none, endsGroup: false, beforeTls: true, sync: "never", afterBdat: true }, simple("HELP", () => replies.help)),
  STARTTLS: spec(
    { requires: none, endsGroup: true, beforeTls: true, sync: "always", afterBdat: false, available: (o, tls) => o.tlsAvailable || tls },
    starttls,
  ),
  AUTH: spec({ requires: none, endsGroup: false, beforeTls: false, sync: "never", afterBdat: false, available: (o) => o.auth }, auth),
};

/** Known SMTP verbs we do not implement: 502 rather than 500. */
export const notImplementedVerbs: ReadonlySet<string> = new Set(["EXPN", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML"]);

/** HTTP and proxy verbs: a browser or an open-proxy probe, never a mail client. */
export function isForbiddenVerb(verb: string): boolean {
  return /^(GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH|TRACE|CONNECT)$/.test(verb) || verb.endsWith(":");
}
