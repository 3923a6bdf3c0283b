import {
  formatCommand,
  formatHello,
  formatMailFrom,
  formatRcptTo,
  formatReplyLine,
  hasEightBit,
  heloCapabilities,
  parseEhlo,
  replyKind,
  DataEncoder,
  type EhloCapabilities,
  type MailFromParams,
  type SmtpReply,
} from "@postern/smtp";
import { SmtpSessionError } from "./errors";
import { SmtpConnection } from "./smtp-connection";
import { Errno, type DeliveryJob, type HostInfo, type RcptResult, type Transport } from "./types";

export interface SmtpTransportOptions {
  host: string;
  port: number;
  lmtp: boolean;
  heloName: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

const QUIT_TIMEOUT_MS = 5000;
const WRITE_CHUNK = 64 * 1024;

/** Per-recipient results being filled in; unset entries are still open. */
class Results {
  readonly list: Array<RcptResult | undefined>;
  constructor(n: number, private readonly host: HostInfo) {
    this.list = new Array<RcptResult | undefined>(n).fill(undefined);
  }
  set(i: number, reply: SmtpReply, after: string, errno4xx: number): void {
    const kind = replyKind(reply);
    const text = formatReplyLine(reply);
    if (kind === "positive") this.list[i] = { status: "delivered", confirmation: text, host: this.host };
    else if (kind === "transient") this.list[i] = { status: "deferred", errno: errno4xx, errstr: `SMTP error from remote mail server after ${after}: ${text}`, host: this.host };
    else this.list[i] = { status: "failed", errno: 0, errstr: `SMTP error from remote mail server after ${after}: ${text}`, host: this.host };
  }
  /** Gives every open recipient the same outcome for `reply` (or `status` with errno/errstr). */
  settleOpen(result: Omit<Extract<RcptResult, { status: "deferred" | "failed" }>, "host">): void {
    this.list.forEach((r, i) => {
      if (r === undefined) this.list[i] = { ...result, host: this.host };
    });
  }
  settleOpenWithReply(reply: SmtpReply, after: string, errno4xx: number, only?: readonly number[]): void {
    this.list.forEach((r, i) => {
      if (r === undefined && (only === undefined || only.includes(i))) this.set(i, reply, after, errno4xx);
    });
  }
  done(): RcptResult[] {
    return this.list.map((r) => r ?? { status: "deferred", errno: Errno.SmtpClosed, errstr: "no outcome", host: this.host });
  }
}

function needsUtf8(job: DeliveryJob): boolean {
  return job.smtpUtf8 || /[^\x00-\x7f]/.test(job.sender) || job.recipients.some((r) => /[^\x00-\x7f]/.test(r.address));
}

function mailParams(job: DeliveryJob, caps: EhloCapabilities, utf8: boolean): MailFromParams {
  const eightBit = job.bodyType.toUpperCase() === "8BITMIME" || hasEightBit(job.body);
  return {
    size: caps.size !== undefined ? job.body.length : undefined,
    body: eightBit && caps.eightBitMime ? "8BITMIME" : undefined,
    smtpUtf8: utf8 && caps.smtpUtf8 ? true : undefined,
    ret: caps.dsn ? job.dsnRet : undefined,
    envid: caps.dsn && job.dsnEnvid.length > 0 ? job.dsnEnvid : undefined,
  };
}

async function hello(conn: SmtpConnection, o: SmtpTransportOptions): Promise<EhloCapabilities | SmtpReply> {
  const t = o.commandTimeoutMs;
  const verb = o.lmtp ? "LHLO" : "EHLO";
  await conn.write(formatHello(verb, o.heloName));
  const ehlo = await conn.readReply(t, verb);
  if (replyKind(ehlo) === "positive") return parseEhlo(ehlo);
  if (o.lmtp || replyKind(ehlo) !== "permanent") return ehlo;
  await conn.write(formatHello("HELO", o.heloName));
  const helo = await conn.readReply(t, "HELO");
  return replyKind(helo) === "positive" ? heloCapabilities(helo) : helo;
}

async function sendBody(conn: SmtpConnection, job: DeliveryJob): Promise<void> {
  const enc = new DataEncoder();
  for (let i = 0; i < job.body.length; i += WRITE_CHUNK) {
    await conn.write(enc.push(job.body.subarray(i, i + WRITE_CHUNK)));
    job.working();
  }
  await conn.write(enc.end());
}

/** One SMTP (or LMTP, RFC 2033) transaction for all recipients of the job. */
async function transaction(conn: SmtpConnection, job: DeliveryJob, o: SmtpTransportOptions, res: Results): Promise<void> {
  const t = o.commandTimeoutMs;
  const greeting = await conn.readReply(t, "initial connection");
  if (replyKind(greeting) !== "positive") {
    res.settleOpen({ status: "deferred", errno: Errno.SmtpClosed, errstr: `SMTP error from remote mail server after initial connection: ${formatReplyLine(greeting)}` });
    return;
  }
  const caps = await hello(conn, o);
  if (!("keywords" in caps)) {
    res.settleOpen({ status: "deferred", errno: Errno.SmtpClosed, errstr: `SMTP error from remote mail server after ${o.lmtp ? "LHLO" : "EHLO/HELO"}: ${formatReplyLine(caps)}` });
    return;
  }
  const utf8 = needsUtf8(job);
  if (utf8 && !caps.smtpUtf8) {
    res.settleOpen({ status: "failed", errno: Errno.Utf8Fwd, errstr: "message needs SMTPUTF8 but the server does not offer it" });
    return;
  }
  if (caps.size !== undefined && caps.size > 0 && job.body.length > caps.size) {
    res.settleOpen({ status: "failed", errno: 0, errstr: `message of ${job.body.length} bytes exceeds the server's SIZE limit ${caps.size}` });
    return;
  }
  let mail: string;
  try {
    mail = formatMailFrom(job.sender, mailParams(job, caps, utf8));
  } catch (err) {
    res.settleOpen({ status: "failed", errno: 0, errstr: (err as Error).message });
    return;
  }
  const rcpts = job.recipients.map((r) => {
    try {
      return formatRcptTo(r.address, { smtpUtf8: utf8, notify: caps.dsn && r.notify.length > 0 ? r.notify : undefined });
    } catch (err) {
      return err as Error;
    }
  });
  rcpts.forEach((c, i) => {
    if (c instanceof Error) res.list[i] = { status: "failed", errno: 0, errstr: c.message };
  });
  const sendable = rcpts.flatMap((c, i) => (typeof c === "string" ? [{ i, cmd: c }] : []));
  if (sendable.length === 0) return;

  const mailAfter = `MAIL FROM:<${job.sender}>`;
  if (caps.pipelining) await conn.write(mail + sendable.map((s) => s.cmd).join(""));
  else await conn.write(mail);
  const mailReply = await conn.readReply(t, mailAfter);
  if (replyKind(mailReply) !== "positive") {
    res.settleOpenWithReply(mailReply, mailAfter, Errno.Mail4xx);
    return;
  }
  const accepted: number[] = [];
  for (const s of sendable) {
    if (!caps.pipelining) await conn.write(s.cmd);
    const after = `RCPT TO:<${job.recipients[s.i]?.address ?? ""}>`;
    const reply = await conn.readReply(t, after);
    if (replyKind(reply) === "positive") accepted.push(s.i);
    else res.set(s.i, reply, after, Errno.Rcpt4xx);
  }
  if (accepted.length === 0) return;

  await conn.write(formatCommand("DATA"));
  const dataReply = await conn.readReply(t, "DATA");
  if (replyKind(dataReply) !== "intermediate") {
    res.settleOpenWithReply(dataReply, "DATA", Errno.Data4xx, accepted);
    return;
  }
  await sendBody(conn, job);
  // SMTP: one reply for the transaction; LMTP: one per accepted recipient, in RCPT order.
  const finals = o.lmtp ? accepted.map((i) => [i]) : [accepted];
  for (const group of finals) {
    const reply = await conn.readReply(t, "end of data");
    res.settleOpenWithReply(reply, "end of data", Errno.Data4xx, group);
  }
}

/** Delivers a job over SMTP or LMTP to one host; every failure becomes per-recipient outcomes, never a throw. */
export function smtpTransport(o: SmtpTransportOptions): Transport {
  return async (job) => {
    let conn: SmtpConnection;
    try {
      conn = await SmtpConnection.open(o.host, o.port, o.connectTimeoutMs);
    } catch (err) {
      const e = err instanceof SmtpSessionError ? err : new SmtpSessionError(Errno.SmtpClosed, String(err));
      const res = new Results(job.recipients.length, { name: o.host, ip: "", port: o.port });
      res.settleOpen({ status: "deferred", errno: e.errno, errstr: e.message });
      return res.done();
    }
    const res = new Results(job.recipients.length, { name: o.host, ip: conn.remoteAddress, port: o.port });
    try {
      await transaction(conn, job, o, res);
      await conn.write(formatCommand("QUIT"));
      await conn.readReply(Math.min(QUIT_TIMEOUT_MS, o.commandTimeoutMs), "QUIT").catch(() => undefined);
    } catch (err) {
      const e = err instanceof SmtpSessionError ? err : new SmtpSessionError(Errno.SmtpClosed, (err as Error).message, { cause: err });
      res.settleOpen({ status: "deferred", errno: e.errno, errstr: e.message });
    } finally {
      conn.close();
    }
    return res.done();
  };
}
