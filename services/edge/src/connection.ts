/**
 * One SMTP connection: the socket on one side, the @postern/smtp session on the
 * other. Reading pauses while a decision is pending, so buffered input stays
 * bounded; replies are written once per read (PIPELINING).
 *
 * SECURITY: all socket input goes through SmtpServerSession (length caps,
 * smuggling checks). Socket errors are logged and end only this connection.
 */
import { isIPv4, type Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";
import { ClientInfo } from "@postern/proto";
import { type ProxyHeader, sslClientFlags } from "@postern/proxy-protocol";
import { type DataInfo, prdrFinalReply, replies, reply, type Reply, type SmtpEvent, SmtpServerSession, type Transaction } from "@postern/smtp";
import { type Logger } from "pino";
import { type Acceptor } from "./accept";
import { type AuthResult, type Authenticator } from "./auth";
import { type EdgeSection } from "./config";
import { type EdgeMetrics, logEvents } from "./diagnostics";
import { type ConnectionEvents } from "./events";
import { type RecipientPolicy } from "./policy";
import { dataReplyFor, rcptReplyFor, type RecipientDataPolicy, type RecipientDataVerdict } from "./recipient-data";
import { type SpfGate } from "./spf-gate";
import { type DmarcGate } from "./dmarc-gate";
import { TLS_MIN_VERSION, type TlsCertificates } from "./tls";
import { resultName, type SpfPolicy, spfReply } from "./spf-policy";
import { type SpfVerdict } from "@postern/proto";

export interface ConnectionDeps {
  config: EdgeSection;
  logger: Logger;
  metrics: EdgeMetrics;
  policy: RecipientPolicy;
  /** the per-recipient data policy (PRDR); absent: every recipient is accepted */
  recipientData?: RecipientDataPolicy;
  /** a recipient the data policy refused (the msg:rcpt:refused event) */
  recipientRefused?(info: { recipient: string; verdict: RecipientDataVerdict; sender: string; ip: string; prdr: boolean; messageId?: string }): void;
  accept: Acceptor;
  /** absent when spf_enable is false */
  spf?: { gate: SpfGate; policy: SpfPolicy };
  /** absent when dmarc.enable is false */
  dmarc?: DmarcGate;
  /** absent when no tls_certificate is configured (STARTTLS is then not offered) */
  tls?: TlsCertificates;
  /** submission listeners only: STARTTLS required, then AUTH; MAIL needs AUTH */
  auth?: {
    authenticate: Authenticator;
    /** a refused AUTH (the auth:fail event) */
    failed(info: { user: string; ip: string; mechanism: string; result: AuthResult }): void;
  };
  /** tcp:connect, smtp:connect, smtp:ehlo, tcp:close (events.ts); absent: not published */
  events?: ConnectionEvents;
}

const authRequired = reply(530, "5.7.0", "Authentication required");

const internalError = reply(421, "4.3.0", "Local error, closing connection");
/** after we end our side, how long the peer has to close before the socket is destroyed */
const LINGER_MS = 5_000;

type EventOf<T extends SmtpEvent["type"]> = Extract<SmtpEvent, { type: T }>;

/** The IPv4 address inside an IPv4-mapped IPv6 address (what a dual-stack listener reports), else the address unchanged. */
export function normalizeIp(ip: string): string {
  if (!ip.startsWith("::")) return ip; // the common case, without the regex
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m?.[1] !== undefined && isIPv4(m[1]) ? m[1] : ip;
}

/** What a PROXY header said about the connection (peers in hosts_proxy only). */
export interface Proxied {
  header: ProxyHeader;
  /** bytes that followed the header in the same read: the client's first SMTP input */
  rest: Buffer;
}

/**
 * The client as policy, limits, logs and the MAIL record see it: the PROXY header's source when there is one.
 * Made once per connection (the listener's admission check hands it to the SmtpConnection).
 */
export function proxiedClient(socket: Socket, proxied: Proxied | undefined): ClientInfo {
  return ClientInfo.fromPartial(proxiedFields(socket, proxied));
}

function proxiedFields(socket: Socket, proxied: Proxied | undefined): Partial<ClientInfo> {
  const socketSide = {
    ip: normalizeIp(socket.remoteAddress ?? ""),
    port: socket.remotePort ?? 0,
    localIp: normalizeIp(socket.localAddress ?? ""),
    localPort: socket.localPort ?? 0,
  };
  const h = proxied?.header;
  if (h === undefined || h.useSocketAddresses || h.source === undefined) return socketSide;
  const ssl = h.tlvs.ssl;
  return {
    ip: normalizeIp(h.source.address),
    port: h.source.port,
    localIp: normalizeIp(h.destination?.address ?? ""),
    localPort: h.destination?.port ?? 0,
    proxySession: true,
    proxyHostAddress: socketSide.ip,
    proxyHostPort: socketSide.port,
    proxyTlsVersion: ssl?.version ?? "",
    proxyTlsCipher: ssl?.cipher ?? "",
    proxyTlsClientCn: ssl?.cn ?? "",
    proxyTlsClientCertVerified: ssl !== undefined && (ssl.client & sslClientFlags.certConn) !== 0 && ssl.verify === 0,
    proxyAlpn: h.tlvs.alpn?.toString("latin1") ?? "",
    proxyAuthority: h.tlvs.authority ?? "",
    proxyUniqueId: h.tlvs.uniqueId?.toString("hex") ?? "",
  };
}

export class SmtpConnection {
  /** resolves when the socket has closed */
  readonly closed: Promise<void>;
  private readonly session: SmtpServerSession;
  private readonly ip: string;
  /** the connection's part of the ClientInfo (addresses, PROXY); clientInfo() adds the session's */
  private readonly peer: ClientInfo;
  private body: Buffer[] = [];
  /** the SPF verdict of the current transaction, null when SPF does not apply */
  private spfVerdict: Promise<SpfVerdict | null> | null = null;
  private spfCounted = false;
  private busy = false;
  private peerEnded = false;
  /** input is left to parse once the replies are written (outputFull) */
  private parsePending = false;
  private closing = false;
  private ending = false;
  /** a final reply requested while a pump was running */
  private abortReply: Reply | undefined;

  /** the socket SMTP is spoken on: the TCP socket, then the TLS socket after STARTTLS */
  private socket: Socket;
  /** "TLSv1.3:TLS_AES_256_GCM_SHA384" once TLS is up (Exim's X=) */
  private tlsCipher = "";
  /** the context chosen when STARTTLS was accepted (files stat'ed then) */
  private tlsContext: SecureContext | undefined;
  private resolveClosed: () => void = () => undefined;
  /** smtp_banner_delay_ms pending */
  private bannerTimer: NodeJS.Timeout | undefined;
  /** the banner is queued; input before it is held (and judged by the sync check) */
  private greeted = false;
  /** the command or data timeout (armTimer) */
  private readTimer: NodeJS.Timeout | undefined;
  private readTimerMs = 0;
  private readonly commandTimeoutMs: number;
  private readonly dataTimeoutMs: number;
  private readonly openedAt = Date.now();
  /** messages accepted on this connection (for tcp:close) */
  private accepted = 0;

  constructor(
    private readonly tcp: Socket,
    private readonly deps: ConnectionDeps,
    proxied?: Proxied,
    peer: ClientInfo = proxiedClient(tcp, proxied),
  ) {
    const socket = tcp;
    this.socket = tcp;
    const c = deps.config;
    this.session = new SmtpServerSession({
      hostname: c.hostname,
      maxMessageSize: c.message_size_limit,
      maxRecipients: c.recipients_max,
      maxTextLine: c.message_linelength_limit,
      maxErrors: c.smtp_max_errors,
      syncCheck: c.smtp_enforce_sync,
      tlsAvailable: deps.tls !== undefined,
      prdr: c.prdr_enable,
      ...(deps.auth === undefined ? {} : { requireTls: true, auth: true }),
    });
    this.peer = peer;
    this.ip = peer.ip;
    this.commandTimeoutMs = c.smtp_command_timeout_ms ?? c.smtp_timeout_ms;
    this.dataTimeoutMs = c.smtp_data_timeout_ms ?? c.smtp_timeout_ms;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.emit("tcp:connect", this.peerAttributes());
    socket.once("close", () => {
      clearTimeout(this.readTimer);
      this.emit("tcp:close", { client_ip: this.ip, duration_ms: String(Date.now() - this.openedAt), messages: String(this.accepted) });
    });
    socket.setNoDelay(true);
    this.attach(socket);
    // bytes that followed a PROXY header in its read were sent before the banner: a synchronisation error (as Exim)
    if (proxied !== undefined && proxied.rest.length > 0) this.session.feed(proxied.rest, { endOfRead: true });
    // negotiateProxy paused the socket
    socket.resume();
    if (c.smtp_banner_delay_ms > 0) {
      this.bannerTimer = setTimeout(() => this.sendBanner(), c.smtp_banner_delay_ms);
      socket.once("close", () => clearTimeout(this.bannerTimer));
    } else {
      this.sendBanner();
    }
  }

  /** SMTP over this socket from now on. */
  private attach(socket: Socket): void {
    socket.once("close", () => this.resolveClosed());
    socket.on("error", (err) => this.deps.logger.debug({ event: logEvents.connectionError, err, ip: this.ip }, "smtp connection error"));
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.onPeerEnd());
  }

  /** An event, when they are published (attributes built only then). */
  private emit(name: Parameters<ConnectionEvents>[0], attributes: Record<string, string>): void {
    this.deps.events?.(name, attributes);
  }

  private peerAttributes(): Record<string, string> {
    const p = this.peer;
    return {
      client_ip: this.ip,
      client_port: String(p.port),
      local_ip: p.localIp,
      local_port: String(p.localPort),
      ...(p.proxySession ? { proxy_host_address: p.proxyHostAddress, proxy_host_port: String(p.proxyHostPort) } : {}),
    };
  }

  /**
   * (Re)starts the read timeout for what the session waits for now: while
   * content flows, the data timeout from the last read (Exim's
   * smtp_receive_timeout applies per read); otherwise the command timeout,
   * restarted only when a command was complete, so a client cannot hold the
   * connection by trickling bytes. Never runs while a decision is pending (the
   * wait for NATS is ours, not the client's).
   */
  private armTimer(): void {
    const ms = this.session.inData ? this.dataTimeoutMs : this.commandTimeoutMs;
    // refresh() re-arms a live timer without a new allocation (the common case: one per read while content flows)
    if (this.readTimer !== undefined && this.readTimerMs === ms) return void this.readTimer.refresh();
    clearTimeout(this.readTimer);
    this.readTimerMs = ms;
    this.readTimer = setTimeout(() => this.onTimeout(ms), ms);
    this.readTimer.unref();
  }

  /** The 220 banner, then whatever the session made of input read before it. */
  private sendBanner(): void {
    this.bannerTimer = undefined;
    this.greeted = true;
    this.session.greet();
    this.emit("smtp:connect", { client_ip: this.ip, ...(this.peer.proxySession ? { proxy_host_address: this.peer.proxyHostAddress } : {}) });
    if (this.busy) return; // the running pump flushes it
    this.run();
  }

  /** No transaction open and no decision pending. */
  private get quiet(): boolean {
    const s = this.session;
    return s.transaction === null && s.awaiting === null && !s.inData;
  }

  /** Quiet and nothing being processed. */
  get idle(): boolean {
    return !this.busy && this.quiet;
  }

  /** Shutdown: an idle session gets 421 now, a busy one when its transaction is over. */
  shutdown(): void {
    this.closing = true;
    if (this.idle) this.abort(replies.shuttingDown(this.deps.config.hostname));
  }

  /** End of the shutdown grace time: 421 whatever the state. */
  forceClose(): void {
    this.abort(replies.shuttingDown(this.deps.config.hostname));
  }

  /** Last resort: drops the socket. */
  destroy(): void {
    this.socket.destroy();
    this.tcp.destroy();
  }

  private clientInfo(): ClientInfo {
    const helo = this.session.helo;
    const esmtp = helo?.verb === "EHLO";
    const auth = this.session.authIdentity;
    // Exim's P= (RFC 3848): smtp, esmtp, esmtps (TLS), esmtpa (AUTH), esmtpsa (both)
    const protocol = !esmtp ? "smtp" : `esmtp${this.tlsCipher === "" ? "" : "s"}${auth === null ? "" : "a"}`;
    return { ...this.peer, helo: helo?.domain ?? "", protocol, tlsCipher: this.tlsCipher, authenticatedId: auth?.username ?? "" };
  }

  private onData(chunk: Buffer): void {
    this.session.feed(chunk, { endOfRead: true });
    // before a delayed banner: hold the input (the session has judged it) and read no more until the banner
    if (!this.greeted) return void this.socket.pause();
    if (!this.busy) this.run();
  }

  private run(): void {
    this.pump().catch((err: unknown) => {
      this.deps.logger.error({ event: logEvents.sessionError, err, ip: this.ip }, "smtp session failed");
      this.abort(internalError);
    });
  }

  private async pump(): Promise<void> {
    this.busy = true;
    this.parsePending = false;
    this.socket.pause();
    let progress = false;
    try {
      for (let ev = this.session.next(); ev !== null; ev = this.session.next()) {
        progress = true;
        // most events are answered at once: only a pending decision costs a promise and a turn
        const decision = this.handle(ev);
        if (decision !== undefined) await decision;
        if (this.abortReply !== undefined || (this.closing && this.quiet)) break;
      }
    } finally {
      this.busy = false;
    }
    if (this.abortReply !== undefined) this.session.abort(this.abortReply);
    else if (this.closing && this.quiet) this.session.abort(replies.shuttingDown(this.deps.config.hostname));
    // the engine stopped parsing at maxOutputBuffer octets of replies: write them, then parse on before reading more
    const more = this.session.outputFull;
    this.flush();
    // an event (a complete command, content read) restarts the timeout; a partial command line does not. A timer
    // that fired while we were busy (waiting for NATS, Redis) starts again too
    if (progress || this.readTimer === undefined) this.armTimer();
    if (this.session.tlsPending) return this.startTls();
    if (this.session.closed || (this.peerEnded && !more)) return this.end();
    this.parsePending = more;
    const go = more ? () => this.run() : () => this.socket.resume();
    if (this.socket.writableNeedDrain) this.socket.once("drain", go);
    else if (more) setImmediate(go);
    else go();
  }

  /** Answers an event now, or returns the decision in progress (NATS, Redis, a verdict) that will. */
  private handle(ev: SmtpEvent): Promise<void> | undefined {
    const { logger, metrics } = this.deps;
    const s = this.session;
    switch (ev.type) {
      case "command":
        if (ev.command.verb === "EHLO" || ev.command.verb === "HELO") {
          this.emit("smtp:ehlo", { client_ip: this.ip, helo: ev.command.domain, verb: ev.command.verb });
        }
        return;
      case "starttls":
        return this.starttls();
      case "error":
        metrics.protocolErrors.inc({ kind: ev.kind });
        logger.info({ event: logEvents.protocolError, kind: ev.kind, line: ev.line, ip: this.ip }, `SMTP protocol error: ${ev.kind}`);
        if (ev.kind === "too_many_recipients") metrics.recipients.inc({ result: "limit" });
        return;
      case "auth":
        return this.authenticate(ev.mechanism, ev.username, ev.password).then((r) => s.respond(r));
      case "mail":
        if (this.deps.auth !== undefined && s.authIdentity === null) {
          s.respond(authRequired);
          return;
        }
        this.body = [];
        this.spfCounted = false;
        // an authenticated sender is our own user: no SPF check (as relay_from_hosts)
        this.spfVerdict = s.authIdentity !== null ? null : this.deps.spf?.gate({ ip: this.ip, helo: s.helo?.domain ?? "", sender: ev.command.sender?.address ?? "" }) ?? null;
        s.respond(replies.senderOk);
        return;
      case "rcpt":
        return this.rcpt(ev);
      case "data":
        this.body = [];
        s.respond(replies.startData);
        return;
      case "body":
        this.body.push(ev.chunk);
        return;
      case "dataRejected":
        this.body = [];
        metrics.messages.inc({ result: "rejected" });
        logger.info(
          { event: logEvents.messageRejected, reason: ev.reason, sender: ev.transaction.mail.sender?.address ?? "", ip: this.ip, helo: s.helo?.domain, size: ev.info.size },
          `rejected message from [${this.ip}]: ${ev.reason}`,
        );
        return;
      case "dataEnd":
        return this.dataEnd(ev);
      case "prdrEnd":
        return this.prdrEnd(ev);
    }
  }

  private async starttls(): Promise<void> {
    const ctx = await this.deps.tls?.context().catch((err: unknown) => {
      this.deps.logger.error({ event: logEvents.tlsFailed, err, ip: this.ip }, "no TLS certificate for STARTTLS");
    });
    if (ctx === undefined) return this.session.respond(replies.tlsNotAvailable);
    this.tlsContext = ctx;
    this.session.respond(replies.readyToStartTls);
  }

  private async rcpt(ev: EventOf<"rcpt">): Promise<void> {
    const s = this.session;
    const sender = ev.transaction.mail.sender?.address ?? "";
    const address = ev.command.recipient.address;
    const verdict = await this.recipient(address, ev.command.recipient, sender);
    if (verdict !== replies.recipientOk) return s.respond(verdict);
    if (this.deps.config.spf_check_at === "rcpt") {
      const refusal = await this.spfRefusal(sender, address);
      if (refusal !== null) return s.respond(refusal);
    }
    // without PRDR the per-recipient data policy answers here (recipient-data.ts)
    if (ev.transaction.mail.params.prdr !== true) {
      const v = this.recipientData(address);
      const r = rcptReplyFor(v, address);
      if (r !== null) {
        this.logRecipientData(address, v, sender, false);
        return s.respond(r);
      }
    }
    return s.respond(verdict);
  }

  private async dataEnd(ev: EventOf<"dataEnd">): Promise<void> {
    const s = this.session;
    const chunks = this.body;
    this.body = [];
    const sender = ev.transaction.mail.sender?.address ?? "";
    if (this.deps.config.spf_check_at === "data") {
      const refusal = await this.spfRefusal(sender);
      if (refusal !== null) return s.respond(refusal);
    }
    // PRDR with one recipient: its data verdict is the single reply (as Exim)
    const only = ev.transaction.recipients.length === 1 ? ev.transaction.recipients[0]?.recipient.address : undefined;
    if (ev.transaction.mail.params.prdr === true && only !== undefined) {
      const v = this.recipientData(only);
      if (v !== "accept") {
        this.logRecipientData(only, v, sender, true);
        return s.respond(dataReplyFor(v, only));
      }
    }
    const result = await this.store(ev.transaction, chunks, ev.info);
    return s.respond(result.ok ? replies.accepted(result.id) : (result.reply ?? replies.localError));
  }

  private async prdrEnd(ev: EventOf<"prdrEnd">): Promise<void> {
    const s = this.session;
    const chunks = this.body;
    this.body = [];
    const t = ev.transaction;
    const sender = t.mail.sender?.address ?? "";
    if (this.deps.config.spf_check_at === "data") {
      const refusal = await this.spfRefusal(sender);
      if (refusal !== null) return s.respond(refusal);
    }
    const verdicts = t.recipients.map((r) => this.recipientData(r.recipient.address));
    const accepted = t.recipients.filter((_, i) => verdicts[i] === "accept");
    let id: string | undefined;
    if (accepted.length > 0) {
      const result = await this.store({ ...t, recipients: accepted }, chunks, ev.info);
      if (!result.ok) return s.respond(result.reply ?? replies.localError); // one reply for all
      id = result.id;
    }
    const perRecipient = t.recipients.map((r, i) => {
      const a = r.recipient.address;
      const v = verdicts[i] ?? "accept";
      if (v !== "accept") this.logRecipientData(a, v, sender, true, id);
      return v === "accept" ? replies.prdrAccepted(a) : v === "defer" ? replies.prdrDeferred(a) : replies.prdrRejected(a);
    });
    return s.respondPrdr(perRecipient, prdrFinalReply(perRecipient, id));
  }

  /** The MAIL record for these recipients, published (PubAck) before the caller answers 250. */
  private async store(transaction: Transaction, chunks: Buffer[], info: DataInfo): Promise<{ ok: true; id: string } | { ok: false; reply?: Reply }> {
    const spf = (await this.spfVerdict) ?? undefined;
    const headers = spf?.receivedSpf ? [`Received-SPF: ${spf.receivedSpf}`] : [];
    // DMARC (dmarc-gate.ts): may refuse the message, or add headers and MAIL record fields
    const client = this.clientInfo();
    const dmarc = await this.deps.dmarc?.({ transaction, chunks, client, spf, authenticated: this.session.authIdentity !== null });
    if (dmarc?.reply !== undefined) return { ok: false, reply: dmarc.reply };
    const r = await this.deps.accept({ transaction, chunks, info, client, headers: [...headers, ...(dmarc?.headers ?? [])], ...(dmarc ? { fields: dmarc.fields, dmarcDomain: dmarc.verdict?.usedDomain ?? "" } : {}) });
    if (r.ok) this.accepted++;
    return r.ok ? { ok: true, id: r.id } : { ok: false };
  }

  private recipientData(address: string): RecipientDataVerdict {
    return this.deps.recipientData?.(address) ?? "accept";
  }

  private logRecipientData(recipient: string, verdict: RecipientDataVerdict, sender: string, prdr: boolean, messageId?: string): void {
    this.deps.metrics.recipients.inc({ result: verdict === "reject" ? "denied" : "tempfail" });
    this.deps.recipientRefused?.({ recipient, verdict, sender, ip: this.ip, prdr, ...(messageId === undefined ? {} : { messageId }) });
    this.deps.logger.info(
      { event: logEvents.prdrRecipient, message_id: messageId, recipient, verdict, sender, ip: this.ip, prdr },
      `H=[${this.ip}] ${verdict === "reject" ? "rejected" : "deferred"} ${prdr ? "PRDR recipient" : "RCPT"} <${recipient}>: recipient data policy`,
    );
  }

  /** Awaits this transaction's SPF verdict; the 550/451 it earns, or null to go on. */
  private async spfRefusal(sender: string, recipient?: string): Promise<Reply | null> {
    const spf = this.deps.spf;
    if (spf === undefined || this.spfVerdict === null) return null;
    const verdict = await this.spfVerdict;
    if (verdict === null) return null;
    const result = resultName(verdict.result);
    if (!this.spfCounted) {
      this.spfCounted = true;
      this.deps.metrics.spfVerdicts.inc({ result });
    }
    const refusal = spfReply(spf.policy, result, verdict.smtpComment);
    if (refusal !== null) {
      this.deps.logger.info(
        { event: logEvents.spfRejected, result, domain: verdict.domain, sender, recipient, ip: this.ip, helo: this.session.helo?.domain, at: this.deps.config.spf_check_at },
        `H=[${this.ip}] ${recipient === undefined ? "rejected message" : `rejected RCPT <${recipient}>`}: SPF ${result}`,
      );
    }
    return refusal;
  }

  private async authenticate(mechanism: string, user: string, password: string): Promise<Reply> {
    const auth = this.deps.auth;
    const result: AuthResult = auth === undefined ? "invalid" : await auth.authenticate(user, password);
    const { logger } = this.deps;
    if (result === "ok") {
      logger.debug({ event: logEvents.authSucceeded, ip: this.ip, user, mechanism }, "authenticated");
      return replies.authSuccessful;
    }
    logger.info({ event: logEvents.authFailed, ip: this.ip, user, mechanism, result }, `${mechanism.toLowerCase()} authenticator failed for [${this.ip}]: ${result === "tempfail" ? 454 : 535} (set_id=${user})`);
    auth?.failed({ user, ip: this.ip, mechanism, result });
    return result === "tempfail" ? replies.authTemporary : replies.authInvalid;
  }

  private async recipient(address: string, mailbox: { domain: string; localPart: string }, sender: string): Promise<Reply> {
    const { logger, metrics, policy } = this.deps;
    if (this.session.authIdentity !== null) {
      // authenticated clients may relay
      metrics.recipients.inc({ result: "accepted" });
      return replies.recipientOk;
    }
    const verdict = await policy(mailbox.domain, this.ip, { localPart: mailbox.localPart });
    const fields = { recipient: address, sender, ip: this.ip, helo: this.session.helo?.domain };
    switch (verdict.result) {
      case "accepted":
        metrics.recipients.inc({ result: "accepted" });
        return replies.recipientOk;
      case "denied":
        metrics.recipients.inc({ result: "denied" });
        logger.info({ event: logEvents.rcptRejected, reason: "relay", ...fields }, `H=[${this.ip}] rejected RCPT <${address}>: relay not permitted`);
        return replies.relayDenied;
      case "tempfail":
        metrics.recipients.inc({ result: "tempfail" });
        logger.warn({ event: logEvents.rcptRejected, reason: "lookup", list: verdict.list, err: verdict.err, ...fields }, `H=[${this.ip}] temporarily rejected RCPT <${address}>: lookup failed`);
        return replies.tempLookupFailure;
    }
  }

  /**
   * After 220 to STARTTLS: the TCP socket is handed to TLS. Bytes the client
   * sent after STARTTLS without waiting for our 220 are plaintext; the session
   * discards them (CVE-2011-0411) and they are logged.
   */
  private startTls(): void {
    const tcp = this.tcp;
    tcp.removeAllListeners("data");
    tcp.removeAllListeners("end");
    for (let b = tcp.read() as Buffer | null; b !== null; b = tcp.read() as Buffer | null) this.session.feed(b);
    const certs = this.deps.tls;
    const secure = new TLSSocket(tcp, {
      isServer: true,
      minVersion: TLS_MIN_VERSION,
      ...(this.tlsContext === undefined ? {} : { secureContext: this.tlsContext }),
      ...(certs === undefined ? {} : { SNICallback: certs.sniCallback }),
      // OCSP stapling: Node emits 'OCSPRequest' on this (never listening) server; see ocsp.ts
      ...(certs?.ocspServer === undefined ? {} : { server: certs.ocspServer }),
    });
    this.tlsContext = undefined;
    this.socket = secure;
    secure.once("secure", () => this.onSecure(secure));
    secure.on("error", (err: Error) => {
      this.deps.logger.info({ event: logEvents.tlsFailed, err, ip: this.ip }, `TLS error from [${this.ip}]: ${err.message}`);
      secure.destroy();
      tcp.destroy();
    });
    this.attach(secure);
    secure.pause(); // no SMTP until the handshake is done
    tcp.resume();
  }

  private onSecure(secure: TLSSocket): void {
    const c = secure.getCipher();
    this.tlsCipher = `${c.version}:${c.name}`;
    const sni = (secure as TLSSocket & { servername?: string | false }).servername;
    const r = this.session.tlsStarted();
    const { logger } = this.deps;
    logger.debug({ event: logEvents.tlsStarted, ip: this.ip, cipher: c.name, version: c.version, servername: sni || undefined }, "TLS started");
    if (r.discardedBytes > 0) {
      logger.warn(
        { event: logEvents.tlsPlaintextDiscarded, ip: this.ip, bytes: r.discardedBytes, discarded: r.discarded },
        `H=[${this.ip}] discarded ${r.discardedBytes} octets of plaintext sent after STARTTLS`,
      );
    }
    this.armTimer(); // the handshake is done: the next command has the full command timeout
    secure.resume();
  }

  /** Exim: "SMTP command timeout on connection from ..." / "SMTP data timeout (message abandoned) ...". */
  private onTimeout(ms: number): void {
    this.readTimer = undefined;
    if (this.busy || this.ending) return;
    const phase = this.session.tlsPending ? "tls" : this.session.inData ? "data" : "command";
    this.deps.metrics.protocolErrors.inc({ kind: `${phase}_timeout` });
    this.deps.logger.info(
      { event: logEvents.timeout, phase, timeout_ms: ms, ip: this.ip, helo: this.session.helo?.domain },
      `SMTP ${phase} timeout${phase === "data" ? " (message abandoned)" : ""} on connection from [${this.ip}]`,
    );
    // a TLS handshake that never finished: there is no channel to send 421 on
    if (phase === "tls") return this.destroy();
    this.abort(replies.timeout(this.deps.config.hostname));
  }

  private onPeerEnd(): void {
    this.peerEnded = true;
    if (!this.busy && !this.parsePending) this.end();
  }

  /** Sends a final reply and closes; while a pump runs, it does so after the current event. */
  private abort(r: Reply): void {
    if (this.busy) {
      this.abortReply ??= r;
      return;
    }
    this.session.abort(r);
    this.flush();
    this.end();
  }

  private flush(): void {
    const out = this.session.takeOutput();
    if (out.length > 0 && this.socket.writable) this.socket.write(out);
  }

  private end(): void {
    if (this.ending) return;
    this.ending = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }
}
