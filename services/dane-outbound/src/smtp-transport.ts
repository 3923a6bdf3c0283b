/**
 * The SMTP/LMTP client of dane-outbound: sessions (greeting, EHLO/HELO, STARTTLS), one
 * transaction per message (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN, PRDR), a list of
 * hosts tried in order, and sessions kept open for the next message to the same host.
 *
 * SECURITY: server replies are hostile input: parsed by libs/smtp's bounded ReplyParser,
 * quoted before they reach logs, and never echoed into the SMTP stream. Envelope
 * addresses with controls are refused by libs/smtp's formatters.
 */
import type tls from "node:tls";
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
import { Limiter } from "./limits";
import { SmtpConnection } from "./smtp-connection";
import type { TlsFailure, TlsOutcome, TlsPlan, TlsPolicy } from "./tls-policy";
import { Errno, type DeliveryJob, type HostDefer, type HostInfo, type RcptResult, type RemoteInfo } from "./types";

export interface SmtpClientOptions {
  lmtp: boolean;
  heloName: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** STARTTLS when offered (opportunistic; a failed handshake retries the host in clear). */
  tls: boolean;
  /** hosts_try_prdr: whether to ask this host for PRDR when it offers it. */
  tryPrdr: (host: HostInfo) => boolean;
  pool: SessionPool;
  /** Per-host connection limit (max_connections_per_host); keyed by ip:port. */
  hostLimit: Limiter;
  /** Hosts that recently refused or timed out a connection are skipped until this says so. */
  hostMemory: HostMemory;
  /** DANE (RFC 7672) and OCSP policy (tls-policy.ts); without it STARTTLS stays opportunistic and unauthenticated. */
  tlsPolicy?: TlsPolicy;
  /** The hosts come from an MX lookup of the recipient domain (its DNSSEC status counts for DANE). */
  viaMx?: boolean;
}

const QUIT_TIMEOUT_MS = 5000;
const WRITE_CHUNK = 64 * 1024;

/** The one place TLS client options are built (DANE / OCSP policy hooks in here, issue 10). */
export function tlsOptionsFor(host: HostInfo): tls.ConnectionOptions {
  const servername = /^[0-9.]+$|:/.test(host.name) ? undefined : host.name;
  // Opportunistic TLS (RFC 3207 4.1 / RFC 7435): encrypt without authenticating.
  return { servername, rejectUnauthorized: false, minVersion: "TLSv1.2" };
}

/** An open, greeted session to one host, reusable for several messages. */
export interface Session {
  conn: SmtpConnection;
  host: HostInfo;
  caps: EhloCapabilities;
  remote: RemoteInfo;
  tls: boolean;
  transactions: number;
  tlsOutcome?: TlsOutcome;
}

/** Idle sessions by host key, closed after idleMs (Postfix's connection cache, smtp_connection_cache_time_limit). */
export class SessionPool {
  private readonly idle = new Map<string, Array<{ s: Session; timer: NodeJS.Timeout }>>();
  constructor(
    private readonly idleMs: number,
    private readonly maxMessages: number,
  ) {}

  take(key: string): Session | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const e = list.pop();
      if (!e) break;
      clearTimeout(e.timer);
      if (e.s.conn.alive) return e.s;
      e.s.conn.close();
    }
    return undefined;
  }

  give(key: string, s: Session): void {
    if (this.idleMs <= 0 || s.transactions >= this.maxMessages || !s.conn.alive) {
      void quit(s);
      return;
    }
    const list = this.idle.get(key) ?? [];
    this.idle.set(key, list);
    const entry = {
      s,
      timer: setTimeout(() => {
        const i = list.indexOf(entry);
        if (i >= 0) list.splice(i, 1);
        void quit(s);
      }, this.idleMs),
    };
    entry.timer.unref();
    list.push(entry);
  }

  /** Closes every idle session (shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(
      all.map((e) => {
        clearTimeout(e.timer);
        return quit(e.s);
      }),
    );
  }
}

/** Hosts whose connection failed recently, remembered for ttlMs so other messages do not hammer them. */
export class HostMemory {
  private readonly down = new Map<string, { until: number; errno: number; errstr: string }>();
  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}
  mark(key: string, errno: number, errstr: string): void {
    if (this.ttlMs > 0) this.down.set(key, { until: this.now() + this.ttlMs, errno, errstr });
  }
  check(key: string): { errno: number; errstr: string } | undefined {
    const d = this.down.get(key);
    if (!d) return undefined;
    if (d.until <= this.now()) {
      this.down.delete(key);
      return undefined;
    }
    return d;
  }
}

async function quit(s: Session): Promise<void> {
  try {
    if (s.conn.alive) {
      await s.conn.write(formatCommand("QUIT"));
      await s.conn.readReply(QUIT_TIMEOUT_MS, "QUIT").catch(() => undefined);
    }
  } catch {
    // the session is being thrown away anyway
  } finally {
    s.conn.close();
  }
}

export const hostKey = (h: HostInfo): string => `${h.ip.length > 0 ? h.ip : h.name}:${h.port}`;

/** A deferral that is the host's fault (try the next host), as opposed to one recipient's. */
type Deferred = Extract<RcptResult, { status: "deferred" }> & { hostLevel?: boolean };

/** Per-recipient results being filled in; unset entries are still open. */
class Results {
  readonly list: Array<RcptResult | undefined>;
  remote: RemoteInfo = {};
  tls: TlsOutcome | undefined;
  constructor(
    n: number,
    readonly host: HostInfo,
  ) {
    this.list = new Array<RcptResult | undefined>(n).fill(undefined);
  }
  set(i: number, reply: SmtpReply, after: string, errno4xx: number, hostLevel = false): void {
    const kind = replyKind(reply);
    const text = formatReplyLine(reply);
    const base = { host: this.host, remote: this.remote, ...(this.tls ? { tls: this.tls } : {}) };
    if (kind === "positive") this.list[i] = { status: "delivered", confirmation: text, ...base };
    else if (kind === "transient") this.list[i] = { status: "deferred", errno: errno4xx, errstr: `SMTP error from remote mail server after ${after}: ${text}`, hostLevel, ...base } as Deferred;
    else this.list[i] = { status: "failed", errno: 0, errstr: `SMTP error from remote mail server after ${after}: ${text}`, ...base };
  }
  /** Gives every open recipient the same outcome. */
  settleOpen(result: { status: "deferred" | "failed"; errno: number; errstr: string; hostLevel?: boolean; tlsFailure?: TlsFailure }): void {
    this.list.forEach((r, i) => {
      if (r === undefined) this.list[i] = { ...result, host: this.host, remote: this.remote };
    });
  }
  settleOpenWithReply(reply: SmtpReply, after: string, errno4xx: number, only?: readonly number[], hostLevel = false): void {
    this.list.forEach((r, i) => {
      if (r === undefined && (only === undefined || only.includes(i))) this.set(i, reply, after, errno4xx, hostLevel);
    });
  }
  done(): RcptResult[] {
    return this.list.map((r) => r ?? ({ status: "deferred", errno: Errno.SmtpClosed, errstr: "no outcome", host: this.host, remote: this.remote, hostLevel: true } as Deferred));
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

/** ORCPT as received ("rfc822;addr") split for formatRcptTo. */
function orcptParam(orcpt: string | undefined): { type: string; address: string } | undefined {
  if (!orcpt) return undefined;
  const semi = orcpt.indexOf(";");
  if (semi <= 0) return undefined;
  return { type: orcpt.slice(0, semi), address: orcpt.slice(semi + 1) };
}

const firstLine = (r: SmtpReply): string => `${r.code}${r.lines.length > 1 ? "-" : " "}${r.lines[0] ?? ""}`.trimEnd();

/** A session could not be set up: the reply (or error) that stopped it, always a host-level deferral. */
class SetupFailure {
  constructor(
    readonly errno: number,
    readonly errstr: string,
    readonly remote: RemoteInfo,
    readonly tlsFailure?: TlsFailure,
  ) {}

  static tls(f: TlsFailure, remote: RemoteInfo = {}): SetupFailure {
    return new SetupFailure(f.errno, f.errstr, remote, f);
  }
}

async function hello(conn: SmtpConnection, o: SmtpClientOptions, remote: RemoteInfo): Promise<EhloCapabilities | SmtpReply> {
  const t = o.commandTimeoutMs;
  const verb = o.lmtp ? "LHLO" : "EHLO";
  await conn.write(formatHello(verb, o.heloName));
  const ehlo = await conn.readReply(t, verb);
  remote.heloResponse = firstLine(ehlo);
  if (replyKind(ehlo) === "positive") return parseEhlo(ehlo);
  if (o.lmtp || replyKind(ehlo) !== "permanent") return ehlo;
  await conn.write(formatHello("HELO", o.heloName));
  const helo = await conn.readReply(t, "HELO");
  remote.heloResponse = firstLine(helo);
  return replyKind(helo) === "positive" ? heloCapabilities(helo) : helo;
}

/** Connects, reads the greeting, says EHLO (HELO fallback), and STARTTLS when offered. */
async function establish(host: HostInfo, o: SmtpClientOptions, useTls: boolean, plan?: TlsPlan): Promise<Session | SetupFailure> {
  const conn = await SmtpConnection.open(host.ip.length > 0 ? host.ip : host.name, host.port, o.connectTimeoutMs);
  const remote: RemoteInfo = {};
  const t = o.commandTimeoutMs;
  const resolved = { ...host, ip: conn.remoteAddress };
  try {
    const greeting = await conn.readReply(t, "initial connection");
    remote.greeting = formatReplyLine(greeting);
    if (replyKind(greeting) !== "positive") {
      conn.close();
      return new SetupFailure(Errno.SmtpClosed, `SMTP error from remote mail server after initial connection: ${formatReplyLine(greeting)}`, remote);
    }
    let caps = await hello(conn, o, remote);
    let secured = false;
    let tlsOutcome: TlsOutcome | undefined;
    // DANE / hosts_require_ocsp: no STARTTLS means defer, never cleartext (RFC 7672 2.2).
    const noTls = plan !== undefined && "keywords" in caps ? plan.afterEhlo(useTls && caps.startTls && !o.lmtp) : undefined;
    if (noTls) {
      conn.close();
      return SetupFailure.tls(noTls, remote);
    }
    if ("keywords" in caps && useTls && caps.startTls && !o.lmtp) {
      await conn.write(formatCommand("STARTTLS"));
      const go = await conn.readReply(t, "STARTTLS");
      if (replyKind(go) === "positive") {
        const socket = await conn.startTls(plan ? plan.tlsOptions(tlsOptionsFor(resolved)) : tlsOptionsFor(resolved), t, plan ? (s) => plan.attach(s) : undefined);
        if (plan) {
          const checked = plan.verify(socket);
          if (checked.failure) {
            conn.close();
            return SetupFailure.tls(checked.failure, remote);
          }
          tlsOutcome = checked.outcome;
        }
        secured = true;
        caps = await hello(conn, o, remote);
      } else if (plan?.tlsMandatory === true) {
        conn.close();
        return SetupFailure.tls(plan.startTlsRefused(formatReplyLine(go)), remote);
      }
    }
    if (!("keywords" in caps)) {
      conn.close();
      return new SetupFailure(Errno.SmtpClosed, `SMTP error from remote mail server after ${o.lmtp ? "LHLO" : "EHLO/HELO"}: ${formatReplyLine(caps)}`, remote);
    }
    return { conn, host: resolved, caps, remote, tls: secured, transactions: 0, tlsOutcome };
  } catch (err) {
    conn.close();
    if (err instanceof SmtpSessionError && /TLS/.test(err.message)) throw new TlsSetupError(err);
    throw err;
  }
}

class TlsSetupError extends Error {
  constructor(readonly inner: SmtpSessionError) {
    super(inner.message);
  }
}

async function sendBody(conn: SmtpConnection, job: DeliveryJob): Promise<void> {
  const enc = new DataEncoder();
  for (let i = 0; i < job.body.length; i += WRITE_CHUNK) {
    const chunk = enc.push(job.body.subarray(i, i + WRITE_CHUNK));
    // The last chunk and the final "." go out in one write: a system call (and a packet) less per message.
    await conn.write(i + WRITE_CHUNK >= job.body.length ? Buffer.concat([chunk, enc.end()]) : chunk);
    job.working();
  }
  if (job.body.length === 0) await conn.write(enc.end());
}

/**
 * One SMTP (or LMTP, RFC 2033) transaction for all recipients of the job on an open
 * session. Returns whether the session is clean for another transaction.
 */
async function transaction(s: Session, job: DeliveryJob, o: SmtpClientOptions, res: Results): Promise<boolean> {
  const { conn, caps } = s;
  const t = o.commandTimeoutMs;
  s.transactions += 1;
  const utf8 = needsUtf8(job);
  if (utf8 && !caps.smtpUtf8) {
    res.settleOpen({ status: "failed", errno: Errno.Utf8Fwd, errstr: "message needs SMTPUTF8 but the server does not offer it" });
    return true;
  }
  if (caps.size !== undefined && caps.size > 0 && job.body.length > caps.size) {
    res.settleOpen({ status: "failed", errno: 0, errstr: `message of ${job.body.length} bytes exceeds the server's SIZE limit ${caps.size}` });
    return true;
  }
  let mail: string;
  try {
    mail = formatMailFrom(job.sender, mailParams(job, caps, utf8));
  } catch (err) {
    res.settleOpen({ status: "failed", errno: 0, errstr: (err as Error).message });
    return true;
  }
  const rcpts = job.recipients.map((r) => {
    try {
      return formatRcptTo(r.address, {
        smtpUtf8: utf8,
        notify: caps.dsn && r.notify.length > 0 ? r.notify : undefined,
        orcpt: caps.dsn ? orcptParam(r.orcpt) : undefined,
      });
    } catch (err) {
      return err as Error;
    }
  });
  rcpts.forEach((c, i) => {
    if (c instanceof Error) res.list[i] = { status: "failed", errno: 0, errstr: c.message };
  });
  const sendable = rcpts.flatMap((c, i) => (typeof c === "string" ? [{ i, cmd: c }] : []));
  if (sendable.length === 0) return true;
  // PRDR (draft-hall-prdr-00) only pays off with more than one recipient; never over LMTP.
  const prdr = !o.lmtp && caps.prdr && sendable.length > 1 && o.tryPrdr(s.host);
  if (prdr) mail = mail.replace(/\r\n$/, " PRDR\r\n");

  const mailAfter = `MAIL FROM:<${job.sender}>`;
  // RFC 2920: DATA may end a pipelined group, saving a round trip per message (Postfix does the same).
  const dataCmd = formatCommand("DATA");
  if (caps.pipelining) await conn.write(mail + sendable.map((x) => x.cmd).join("") + dataCmd);
  else await conn.write(mail);
  const mailReply = await conn.readReply(t, mailAfter);
  const mailOk = replyKind(mailReply) === "positive";
  const accepted: number[] = [];
  for (const x of sendable) {
    if (!caps.pipelining && !mailOk) break;
    if (!caps.pipelining) await conn.write(x.cmd);
    const after = `RCPT TO:<${job.recipients[x.i]?.address ?? ""}>`;
    const reply = await conn.readReply(t, after);
    if (!mailOk) continue; // pipelined RCPTs after a refused MAIL: replies without meaning
    if (replyKind(reply) === "positive") accepted.push(x.i);
    else res.set(x.i, reply, after, Errno.Rcpt4xx);
  }
  let dataReply: SmtpReply | undefined;
  if (caps.pipelining) dataReply = await conn.readReply(t, "DATA");
  else if (accepted.length > 0) {
    await conn.write(dataCmd);
    dataReply = await conn.readReply(t, "DATA");
  }
  if (dataReply !== undefined && replyKind(dataReply) === "intermediate" && accepted.length === 0) {
    // The server said 354 although no recipient is left: end an empty message, then reset.
    await conn.write(".\r\n");
    await conn.readReply(t, "end of data");
  }
  if (!mailOk) {
    res.settleOpenWithReply(mailReply, mailAfter, Errno.Mail4xx, undefined, true);
    return rset(conn, t);
  }
  if (accepted.length === 0) return rset(conn, t);
  if (dataReply === undefined || replyKind(dataReply) !== "intermediate") {
    if (dataReply) res.settleOpenWithReply(dataReply, "DATA", Errno.Data4xx, accepted, true);
    return rset(conn, t);
  }
  await sendBody(conn, job);
  if (o.lmtp) {
    // LMTP: one reply per accepted recipient, in RCPT order.
    for (const i of accepted) res.settleOpenWithReply(await conn.readReply(t, "end of data"), "end of data", Errno.Data4xx, [i]);
    return true;
  }
  const reply = await conn.readReply(t, "end of data");
  if (prdr && reply.code === 353) {
    // PRDR: one reply per accepted recipient in RCPT order, then the message-level reply.
    for (const i of accepted) {
      const after = `PRDR reply for <${job.recipients[i]?.address ?? ""}>`;
      res.set(i, await conn.readReply(t, after), after, Errno.Data4xx);
    }
    await conn.readReply(t, "end of data (PRDR final)");
    return true;
  }
  res.settleOpenWithReply(reply, "end of data", Errno.Data4xx, accepted, true);
  return true;
}

/** RSET after an aborted transaction; false when the session is not fit for reuse. */
async function rset(conn: SmtpConnection, t: number): Promise<boolean> {
  await conn.write(formatCommand("RSET"));
  return replyKind(await conn.readReply(t, "RSET")) === "positive";
}

/** Delivers a job to one host over a pooled or new session; every failure becomes per-recipient results. */
async function deliverToHost(host: HostInfo, job: DeliveryJob, o: SmtpClientOptions): Promise<RcptResult[]> {
  const key = `${o.lmtp ? "lmtp" : "smtp"}:${hostKey(host)}`;
  // With a DANE/OCSP policy a session is only reused for the name it was checked for: another
  // MX name on the same address may have other TLSA records (or require TLS where this did not).
  const poolKey = o.tlsPolicy ? `${key}/${host.name.toLowerCase()}` : key;
  const down = o.hostMemory.check(key);
  if (down) {
    const res = new Results(job.recipients.length, host);
    res.settleOpen({ status: "deferred", errno: down.errno, errstr: `${down.errstr} (host marked down, retry time not reached)`, hostLevel: true });
    return res.done();
  }
  const release = await o.hostLimit.acquire(key);
  try {
    // A pooled session may have been closed by the server while idle: then fall back to a new one.
    for (let round = 0; round < 2; round++) {
      const pooled = round === 0 ? o.pool.take(poolKey) : undefined;
      let s: Session | SetupFailure;
      if (pooled) s = pooled;
      else {
        try {
          s = await establishWithFallback(host, o, job.domain);
        } catch (err) {
          const e = err instanceof SmtpSessionError ? err : new SmtpSessionError(Errno.SmtpClosed, String(err));
          o.hostMemory.mark(key, e.errno, e.message);
          const res = new Results(job.recipients.length, host);
          res.settleOpen({ status: "deferred", errno: e.errno, errstr: e.message, hostLevel: true });
          return res.done();
        }
      }
      if (s instanceof SetupFailure) {
        const res = new Results(job.recipients.length, host);
        res.remote = s.remote;
        res.settleOpen({ status: "deferred", errno: s.errno, errstr: s.errstr, hostLevel: true, tlsFailure: s.tlsFailure });
        return res.done();
      }
      // A pooled session may have been opened for another name with the same address (several MX names, one host).
      const res = new Results(job.recipients.length, { ...s.host, name: host.name });
      res.remote = s.remote;
      res.tls = s.tlsOutcome;
      let reusable = false;
      try {
        reusable = await transaction(s, job, o, res);
      } catch (err) {
        const e = err instanceof SmtpSessionError ? err : new SmtpSessionError(Errno.SmtpClosed, (err as Error).message, { cause: err });
        s.conn.close();
        // Nothing was answered on a reused session that died while idle: retry on a fresh one.
        if (pooled && res.list.every((r) => r === undefined)) continue;
        res.settleOpen({ status: "deferred", errno: e.errno, errstr: e.message, hostLevel: true });
        return res.done();
      }
      if (reusable) o.pool.give(poolKey, s);
      else void quit(s);
      return res.done();
    }
    const res = new Results(job.recipients.length, host);
    res.settleOpen({ status: "deferred", errno: Errno.SmtpClosed, errstr: "connection lost", hostLevel: true });
    return res.done();
  } finally {
    release();
  }
}

async function establishWithFallback(host: HostInfo, o: SmtpClientOptions, domain?: string): Promise<Session | SetupFailure> {
  const plan = o.tlsPolicy ? await o.tlsPolicy.plan({ ...host, domain, viaMx: o.viaMx }) : undefined;
  if (plan?.defer) return SetupFailure.tls(plan.defer);
  try {
    return await establish(host, o, o.tls || plan?.tlsMandatory === true, plan);
  } catch (err) {
    if (err instanceof TlsSetupError) {
      // DANE and hosts_require_ocsp hosts never fall back to cleartext (RFC 7672 2.2).
      if (plan?.tlsMandatory === true) return SetupFailure.tls(plan.handshakeFailed(err.message));
      // tls_tempfail_tryclear: opportunistic TLS that fails is retried in clear on the same host.
      return establish(host, o, false, plan);
    }
    throw err;
  }
}

/**
 * Delivers to the hosts in order: recipients deferred by a host-level failure (connect,
 * greeting, EHLO, MAIL/DATA 4xx, lost connection) go on to the next host; the others are
 * final for this attempt. Each result lists the hosts that deferred it before (`tried`).
 */
export async function deliverToHosts(hosts: readonly HostInfo[], job: DeliveryJob, o: SmtpClientOptions): Promise<RcptResult[]> {
  const n = job.recipients.length;
  const final = new Array<RcptResult | undefined>(n).fill(undefined);
  const tried: HostDefer[][] = Array.from({ length: n }, () => []);
  let open = [...Array(n).keys()];
  let last: RcptResult[] = [];
  for (const host of hosts) {
    if (open.length === 0) break;
    const sub = { ...job, recipients: open.map((i) => job.recipients[i]).filter((r) => r !== undefined) };
    const results = await deliverToHost(host, sub, o);
    last = results;
    const next: number[] = [];
    open.forEach((i, j) => {
      const r = results[j];
      if (r && r.status === "deferred" && (r as Deferred).hostLevel === true) {
        tried[i]?.push({ host: r.host ?? host, errno: r.errno, errstr: r.errstr, level: "host", ...(r.tlsFailure ? { tlsFailure: r.tlsFailure } : {}) });
        next.push(i);
      } else final[i] = r;
    });
    open = next;
  }
  open.forEach((i) => {
    const prior = tried[i] ?? [];
    const lastDefer = prior[prior.length - 1];
    final[i] = lastDefer
      ? { status: "deferred", errno: lastDefer.errno, errstr: lastDefer.errstr, host: lastDefer.host, remote: last[0]?.remote, tlsFailure: lastDefer.tlsFailure }
      : { status: "deferred", errno: Errno.SmtpClosed, errstr: "no host to try" };
  });
  return final.map((r, i) => {
    const out = { ...(r as RcptResult), tried: tried[i] ?? [] };
    delete (out as Deferred).hostLevel;
    return out;
  });
}

/** A single-host transport with defaults (no session reuse, no limits): the `smtp:`/`lmtp:` route shape, used by tests. */
export function smtpTransport(o: {
  host: string;
  port: number;
  lmtp: boolean;
  heloName: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  extra?: Partial<SmtpClientOptions>;
}): (job: DeliveryJob) => Promise<RcptResult[]> {
  const opts: SmtpClientOptions = {
    lmtp: o.lmtp,
    heloName: o.heloName,
    connectTimeoutMs: o.connectTimeoutMs,
    commandTimeoutMs: o.commandTimeoutMs,
    tls: true,
    tryPrdr: () => true,
    pool: new SessionPool(0, 1),
    hostLimit: new Limiter(0),
    hostMemory: new HostMemory(0),
    ...o.extra,
  };
  const host: HostInfo = { name: o.host, ip: /^[0-9.]+$|:/.test(o.host) ? o.host : "", port: o.port };
  return (job) => deliverToHosts([host], job, opts);
}
