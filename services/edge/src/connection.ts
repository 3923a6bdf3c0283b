/**
 * One SMTP connection: the socket on one side, the @postern/smtp session on the
 * other. Reading pauses while a decision is pending, so buffered input stays
 * bounded; replies are written once per read (PIPELINING).
 *
 * SECURITY: all socket input goes through SmtpServerSession (length caps,
 * smuggling checks). Socket errors are logged and end only this connection.
 */
import { type Socket } from "node:net";
import { ClientInfo } from "@postern/proto";
import { type ProxyHeader, sslClientFlags } from "@postern/proxy-protocol";
import { replies, reply, type Reply, type SmtpEvent, SmtpServerSession } from "@postern/smtp";
import { type Logger } from "pino";
import { type Acceptor } from "./accept";
import { type EdgeSection } from "./config";
import { type EdgeMetrics, logEvents } from "./diagnostics";
import { normalizeIp } from "./hosts";
import { type RecipientPolicy } from "./policy";

export interface ConnectionDeps {
  config: EdgeSection;
  logger: Logger;
  metrics: EdgeMetrics;
  policy: RecipientPolicy;
  accept: Acceptor;
}

const internalError = reply(421, "4.3.0", "Local error, closing connection");
/** after we end our side, how long the peer has to close before the socket is destroyed */
const LINGER_MS = 5_000;

/** What a PROXY header said about the connection (peers in hosts_proxy only). */
export interface Proxied {
  header: ProxyHeader;
  /** bytes that followed the header in the same read: the client's first SMTP input */
  rest: Buffer;
}

/** The client as policy, logs and the MAIL record see it: the PROXY header's source when there is one. */
function proxiedClient(socket: Socket, proxied: Proxied | undefined): Partial<ClientInfo> {
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
  private readonly peer: Partial<ClientInfo>;
  private body: Buffer[] = [];
  private busy = false;
  private peerEnded = false;
  private closing = false;
  private ending = false;
  /** a final reply requested while a pump was running */
  private abortReply: Reply | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly deps: ConnectionDeps,
    proxied?: Proxied,
  ) {
    const c = deps.config;
    this.session = new SmtpServerSession({
      hostname: c.hostname,
      maxMessageSize: c.message_size_limit,
      maxRecipients: c.recipients_max,
      maxErrors: c.smtp_max_errors,
    });
    this.peer = proxiedClient(socket, proxied);
    this.ip = this.peer.ip ?? "";
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", (err) => deps.logger.debug({ event: logEvents.connectionError, err, ip: this.ip }, "smtp connection error"));
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.onPeerEnd());
    socket.on("timeout", () => this.onTimeout());
    socket.setNoDelay(true);
    socket.setTimeout(c.smtp_timeout_ms);
    this.session.greet();
    this.flush();
    // negotiateProxy paused the socket; the header's trailing bytes come first
    socket.resume();
    if (proxied !== undefined && proxied.rest.length > 0) this.onData(proxied.rest);
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
  }

  private clientInfo(): ClientInfo {
    const helo = this.session.helo;
    return ClientInfo.fromPartial({
      ...this.peer,
      helo: helo?.domain ?? "",
      protocol: helo?.verb === "EHLO" ? "esmtp" : "smtp",
    });
  }

  private onData(chunk: Buffer): void {
    this.session.feed(chunk);
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
    this.socket.pause();
    try {
      for (let ev = this.session.next(); ev !== null; ev = this.session.next()) {
        await this.handle(ev);
        if (this.abortReply !== undefined || (this.closing && this.quiet)) break;
      }
    } finally {
      this.busy = false;
    }
    if (this.abortReply !== undefined) this.session.abort(this.abortReply);
    else if (this.closing && this.quiet) this.session.abort(replies.shuttingDown(this.deps.config.hostname));
    this.flush();
    if (this.session.closed || this.peerEnded) return this.end();
    if (this.socket.writableNeedDrain) this.socket.once("drain", () => this.socket.resume());
    else this.socket.resume();
  }

  private async handle(ev: SmtpEvent): Promise<void> {
    const { logger, metrics } = this.deps;
    const s = this.session;
    switch (ev.type) {
      case "command":
        return;
      case "error":
        metrics.protocolErrors.inc({ kind: ev.kind });
        logger.info({ event: logEvents.protocolError, kind: ev.kind, line: ev.line, ip: this.ip }, `SMTP protocol error: ${ev.kind}`);
        if (ev.kind === "too_many_recipients") metrics.recipients.inc({ result: "limit" });
        return;
      case "mail":
        this.body = [];
        return s.respond(replies.senderOk);
      case "rcpt":
        return s.respond(await this.recipient(ev.command.recipient.address, ev.command.recipient.domain, ev.transaction.mail.sender?.address ?? ""));
      case "data":
        this.body = [];
        return s.respond(replies.startData);
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
      case "dataEnd": {
        const chunks = this.body;
        this.body = [];
        const result = await this.deps.accept({ transaction: ev.transaction, chunks, info: ev.info, client: this.clientInfo() });
        return s.respond(result.ok ? replies.accepted(result.id) : replies.localError);
      }
    }
  }

  private async recipient(address: string, domain: string, sender: string): Promise<Reply> {
    const { logger, metrics, policy } = this.deps;
    const verdict = await policy(domain, this.ip);
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
        logger.warn({ event: logEvents.rcptRejected, reason: "lookup", err: verdict.err, ...fields }, `H=[${this.ip}] temporarily rejected RCPT <${address}>: lookup failed`);
        return replies.tempLookupFailure;
    }
  }

  private onTimeout(): void {
    if (this.busy) return;
    this.abort(replies.timeout(this.deps.config.hostname));
  }

  private onPeerEnd(): void {
    this.peerEnded = true;
    if (!this.busy) this.end();
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
