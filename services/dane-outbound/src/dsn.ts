/**
 * Bounces: RFC 3464 delivery status notifications (multipart/report, RFC 6522) for
 * recipients that failed or expired, with the extra fields of Exim's DSN_INFO
 * (Remote-MTA: X-ip, X-Remote-MTA-smtp-greeting, X-Remote-MTA-helo-response,
 * X-Exim-Diagnostic). Pure: the caller enqueues the result through MAIL.
 *
 * SECURITY: the remote server's banner, EHLO reply and error text are hostile input that
 * ends up in header fields of a message we send: every such text is reduced to printable
 * ASCII on one line (controls, CR and LF replaced) before it is folded, so a remote MTA
 * cannot inject header fields or MIME parts into the bounce.
 */
import { createHash } from "node:crypto";
import { type RcptResult, type Target } from "./types";

export interface FailedRecipient {
  target: Target;
  result: Extract<RcptResult, { status: "failed" }>;
  /** true: failed because the retry time ran out. */
  expired?: boolean;
}

export interface DsnInput {
  messageId: string;
  sender: string;
  envid: string;
  ret: "FULL" | "HDRS" | undefined;
  receivedAt: Date | undefined;
  reportingMta: string;
  failed: readonly FailedRecipient[];
  original: Buffer;
  dsnInfo: boolean;
  returnSizeLimit: number;
  now: Date;
}

/** RFC 3461 4.1: a failure DSN unless NOTIFY=NEVER or NOTIFY without FAILURE; never to the null sender. */
export function wantsFailureDsn(sender: string, target: Pick<Target, "notify">): boolean {
  if (sender.length === 0) return false;
  const n = target.notify.map((v) => v.toUpperCase());
  return n.length === 0 || n.includes("FAILURE");
}

/** Printable ASCII on one line: what a hostile remote text becomes before it enters a header field. */
export function clean(text: string): string {
  return text.replace(/\r\n|\r|\n/g, " ").replace(/[^\x20-\x7e]/g, "?");
}

/** Folds `Name: value` at spaces so no line exceeds 78 characters where a space allows (RFC 5322 2.2.3). */
export function foldField(name: string, value: string): string {
  const words = clean(value).split(" ");
  const lines: string[] = [];
  let line = `${name}:`;
  for (const w of words) {
    if (line.length + 1 + w.length > 78 && line.trim().length > name.length + 1) {
      lines.push(line);
      line = ` ${w}`;
    } else line += ` ${w}`;
  }
  lines.push(line);
  // Hard-split pathological words (RFC 5322's 998-octet limit).
  return lines.flatMap((l) => (l.length <= 990 ? [l] : (l.match(/.{1,990}/g) ?? []).map((p, i) => (i === 0 ? p : ` ${p}`)))).join("\r\n");
}

/** The SMTP reply inside one of our error strings ("SMTP error from remote mail server after X: 550 ..."). */
export function smtpReplyOf(errstr: string): string | undefined {
  const m = /^SMTP error from remote mail server after .*?: ([2-5]\d\d(?:[ -].*)?)$/.exec(errstr);
  return m?.[1];
}

/** RFC 3463 status for a failure: the reply's enhanced code, 4.4.7 for expiry, else 5.0.0. */
export function statusOf(f: FailedRecipient): string {
  if (f.expired) return "4.4.7";
  const reply = smtpReplyOf(f.result.errstr);
  const m = reply ? /^[45]\d\d[ -]([45]\.\d{1,3}\.\d{1,3})\b/.exec(reply) : null;
  if (m?.[1]) return m[1];
  return reply && reply.startsWith("4") ? "4.0.0" : "5.0.0";
}

function rfc5322Date(d: Date): string {
  return d.toUTCString().replace("GMT", "+0000");
}

/** The fields for one failed recipient in the message/delivery-status part. */
export function recipientFields(f: FailedRecipient, dsnInfo: boolean): string[] {
  const out: string[] = [];
  if (f.target.orcpt && f.target.orcpt.includes(";")) out.push(foldField("Original-Recipient", f.target.orcpt));
  out.push(foldField("Final-Recipient", `rfc822;${f.target.address}`));
  out.push("Action: failed");
  out.push(`Status: ${statusOf(f)}`);
  const host = f.result.host;
  if (host && host.name.length > 0) out.push(foldField("Remote-MTA", `dns; ${host.name}`));
  if (dsnInfo && host && host.ip.length > 0) {
    out.push(foldField("Remote-MTA", `X-ip; [${host.ip}]${host.port !== 25 ? `:${host.port}` : ""}`));
    if (f.result.remote?.greeting) out.push(foldField("X-Remote-MTA-smtp-greeting", `X-str; ${f.result.remote.greeting}`));
    if (f.result.remote?.heloResponse) out.push(foldField("X-Remote-MTA-helo-response", `X-str; ${f.result.remote.heloResponse}`));
  }
  const reply = smtpReplyOf(f.result.errstr);
  if (reply) out.push(foldField("Diagnostic-Code", `smtp; ${reply}`));
  if (dsnInfo) out.push(foldField("X-Exim-Diagnostic", `X-str; ${f.result.errstr}`));
  return out;
}

/** Header block of a message (up to the first empty line), without the empty line. */
export function headerBlock(message: Buffer): Buffer {
  for (const sep of ["\r\n\r\n", "\n\n"]) {
    const i = message.indexOf(sep);
    if (i >= 0) return message.subarray(0, i + sep.length / 2);
  }
  return message;
}

/** The whole bounce message (CRLF line ends). */
export function buildDsn(input: DsnInput): Buffer {
  const boundary = `${createHash("sha256").update(input.messageId).update(String(input.now.getTime())).digest("hex").slice(0, 24)}=_postern`;
  const lines: string[] = [];
  lines.push(`From: Mail Delivery System <Mailer-Daemon@${input.reportingMta}>`);
  lines.push(foldField("To", input.sender));
  lines.push("Subject: Mail delivery failed: returning message to sender");
  lines.push(`Date: ${rfc5322Date(input.now)}`);
  lines.push(`Message-ID: <${createHash("sha256").update(`dsn:${input.messageId}:${input.now.getTime()}`).digest("hex").slice(0, 32)}@${input.reportingMta}>`);
  lines.push("Auto-Submitted: auto-replied");
  lines.push("MIME-Version: 1.0");
  lines.push(`Content-Type: multipart/report; report-type=delivery-status;`, ` boundary="${boundary}"`);
  lines.push("");
  lines.push(`--${boundary}`);
  lines.push("Content-Type: text/plain; charset=us-ascii", "");
  lines.push("This message was created automatically by mail delivery software.", "");
  lines.push("A message that you sent could not be delivered to one or more of its", "recipients. This is a permanent error. The following address(es) failed:", "");
  for (const f of input.failed) {
    lines.push(`  ${clean(f.target.address)}`);
    lines.push(`    ${clean(f.result.errstr)}`);
  }
  lines.push("");
  lines.push(`--${boundary}`);
  lines.push("Content-Type: message/delivery-status", "");
  lines.push(foldField("Reporting-MTA", `dns; ${input.reportingMta}`));
  lines.push(foldField("X-Postern-Queue-Id", input.messageId));
  if (input.envid.length > 0) lines.push(foldField("Original-Envelope-Id", input.envid));
  if (input.receivedAt) lines.push(`Arrival-Date: ${rfc5322Date(input.receivedAt)}`);
  for (const f of input.failed) {
    lines.push("");
    lines.push(...recipientFields(f, input.dsnInfo));
    lines.push(`Last-Attempt-Date: ${rfc5322Date(input.now)}`);
  }
  lines.push("");
  lines.push(`--${boundary}`);
  const full = input.ret !== "HDRS" && input.original.length <= input.returnSizeLimit;
  lines.push(full ? "Content-Type: message/rfc822" : "Content-Type: text/rfc822-headers", "");
  const head = Buffer.from(`${lines.join("\r\n")}\r\n`, "utf8");
  const returned = full ? input.original : headerBlock(input.original);
  const crlf = Buffer.from(returned.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1");
  const tail = Buffer.from(`${crlf.subarray(-2).toString() === "\r\n" ? "" : "\r\n"}\r\n--${boundary}--\r\n`, "utf8");
  return Buffer.concat([head, crlf, tail]);
}
