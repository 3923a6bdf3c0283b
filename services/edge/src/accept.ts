/**
 * Durable acceptance at end of DATA: the Received header, the body inline or
 * in the spool, the MAIL record published to JetStream and its PubAck awaited.
 * Only a stored record lets the session say 250; any failure is a 451 and the
 * spool object written for it is removed.
 */
import { createHash } from "node:crypto";
import { type Bus, codecs, newEvent, type ObjectStore, publishEvent, streamNames, subjects } from "@postern/bus";
import { type ClientInfo, DsnRet, MailRecord } from "@postern/proto";
import { type DataInfo, formatReceived, type Transaction } from "@postern/smtp";
import { type Logger } from "pino";
import { type EdgeSection } from "./config";
import { type EdgeMetrics, logEvents } from "./diagnostics";
import { newMessageId } from "./message-id";

export interface InboundMessage {
  transaction: Transaction;
  /** the decoded body as received (without our Received header) */
  chunks: readonly Buffer[];
  info: DataInfo;
  client: ClientInfo;
  /** header fields added above our Received header, e.g. "Received-SPF: pass ..." (no line end) */
  headers?: readonly string[];
  /** MAIL record fields set by the DMARC gate */
  fields?: { dmarcStatus: string; quarantine: boolean };
  /** the DMARC verdict's used domain, for the reception log line */
  dmarcDomain?: string;
}

export type AcceptResult = { ok: true; id: string; size: number } | { ok: false; err: unknown };
export type Acceptor = (msg: InboundMessage) => Promise<AcceptResult>;

export interface AcceptorDeps {
  bus: Bus;
  spool: ObjectStore;
  config: EdgeSection;
  logger: Logger;
  metrics: EdgeMetrics;
}

const dsnRet = { FULL: DsnRet.DSN_RET_FULL, HDRS: DsnRet.DSN_RET_HDRS } as const;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** "with" keyword of the Received header: SMTP, ESMTP (RFC 3848); UTF8SMTP for SMTPUTF8 (RFC 6531 3.7.3). */
export function withProtocol(client: ClientInfo, smtputf8: boolean): string {
  const base = client.protocol.toUpperCase();
  return smtputf8 ? base.replace(/^ESMTP/, "UTF8SMTP") : base;
}

/** Room left in a NATS message for the JetStream publish headers (Nats-Msg-Id, Nats-Expected-Stream). */
const PUBLISH_HEADER_ROOM = 4_096;

export function buildRecord(id: string, msg: InboundMessage, config: EdgeSection, now: Date, forceSpool = false): { record: MailRecord; body: Buffer } {
  const { mail, recipients } = msg.transaction;
  const single = recipients.length === 1 ? recipients[0]?.recipient.address : undefined;
  const received = formatReceived({
    helo: msg.client.helo,
    clientIp: msg.client.ip,
    hostname: config.hostname,
    protocol: withProtocol(msg.client, mail.params.smtputf8),
    id,
    date: now,
    ...(single === undefined ? {} : { recipient: single }),
  });
  const added = (msg.headers ?? []).map((h) => `${h.replace(/[\r\n]+/g, " ")}\r\n`).join("");
  const body = Buffer.concat([Buffer.from(added + received, "utf8"), ...msg.chunks]);
  const sha256 = createHash("sha256").update(body).digest("hex");
  const inline = !forceSpool && body.length <= config.spool_inline_max;
  const record = MailRecord.fromPartial({
    messageId: id,
    receivedAt: now,
    sender: mail.sender?.address ?? "",
    recipients: recipients.map((r, index) => ({
      address: r.recipient.address,
      notify: [...(r.params.notify ?? [])],
      orcpt: r.params.orcpt ?? "",
      index,
    })),
    body: {
      location: inline ? { $case: "inline", value: body } : { $case: "spoolObject", value: id },
      size: String(body.length),
      sha256,
    },
    client: msg.client,
    dsnRet: mail.params.ret === undefined ? DsnRet.DSN_RET_UNSPECIFIED : dsnRet[mail.params.ret],
    dsnEnvid: mail.params.envid ?? "",
    smtputf8: mail.params.smtputf8,
    bodyType: mail.params.body ?? "",
    receivedBy: config.hostname,
    ...msg.fields,
  });
  return { record, body };
}

export function createAcceptor(deps: AcceptorDeps): Acceptor {
  const { bus, spool, config, logger, metrics } = deps;
  const timeoutMs = config.publish_timeout_ms;

  return async (msg) => {
    const id = newMessageId();
    const now = new Date();
    let { record, body } = buildRecord(id, msg, config, now);
    let encoded = codecs.mail.encode(record);
    // Many recipients can make a record with an inline body too large for the server: its body goes to the spool.
    const maxPayload = bus.nc.info?.max_payload ?? Infinity;
    if (record.body?.location?.$case === "inline" && encoded.length > maxPayload - PUBLISH_HEADER_ROOM) {
      ({ record, body } = buildRecord(id, msg, config, now, true));
      encoded = codecs.mail.encode(record);
    }
    const spooled = record.body?.location?.$case === "spoolObject";
    try {
      if (!bus.isConnected()) throw new Error("NATS is not connected");
      if (spooled) await withTimeout(spool.putBlob({ name: id }, body), timeoutMs * 2, "spool write");
      await bus.js.publish(subjects.mailQueued, encoded, {
        msgID: id,
        expect: { streamName: streamNames.mail },
        timeout: timeoutMs,
      });
    } catch (err) {
      metrics.messages.inc({ result: "deferred" });
      logger.warn(
        { event: logEvents.messageDeferred, err, sender: record.sender, helo: msg.client.helo, ip: msg.client.ip, size: body.length },
        "message not stored: 451 sent",
      );
      if (spooled) {
        spool.delete(id).catch((e: unknown) => logger.warn({ event: logEvents.spoolCleanupFailed, message_id: id, err: e }, "spool object not removed"));
      }
      return { ok: false, err };
    }
    metrics.messages.inc({ result: "accepted" });
    metrics.bytes.inc(body.length);
    logReceived(logger, record, body.length, spooled, msg.dmarcDomain);
    const event = newEvent("msg:received", {
      messageId: id,
      senderAddress: record.sender,
      attributes: {
        client_ip: msg.client.ip,
        helo: msg.client.helo,
        size: String(body.length),
        protocol: msg.client.protocol,
        ...(msg.client.proxySession
          ? { proxy_session: "true", proxy_host_address: msg.client.proxyHostAddress, proxy_host_port: String(msg.client.proxyHostPort) }
          : {}),
      },
    });
    publishEvent(bus, event).catch((err: unknown) =>
      logger.warn({ event: logEvents.eventFailed, name: event.name, message_id: id, err }, "msg:received event not stored"),
    );
    return { ok: true, id, size: body.length };
  };
}

/** The Exim-style reception line: "<= sender H=helo [ip] P=esmtps X=cipher S=size id=..." plus the same as fields. */
function logReceived(logger: Logger, r: MailRecord, size: number, spooled: boolean, dmarcDomain: string | undefined): void {
  const c = r.client;
  const sender = r.sender === "" ? "<>" : r.sender;
  logger.info(
    {
      event: logEvents.received,
      message_id: r.messageId,
      sender: r.sender,
      recipients: r.recipients.map((x) => x.address),
      helo: c?.helo,
      ip: c?.ip,
      port: c?.port,
      protocol: c?.protocol,
      tls_cipher: c?.tlsCipher || undefined,
      authenticated_id: c?.authenticatedId || undefined,
      size,
      spooled,
      dmarc_status: r.dmarcStatus || undefined,
      dmarc_domain: dmarcDomain || undefined,
      ...(c?.proxySession ? { proxy_host_address: c.proxyHostAddress, proxy_host_port: c.proxyHostPort, proxy_tls_version: c.proxyTlsVersion || undefined, proxy_tls_cipher: c.proxyTlsCipher || undefined, proxy_tls_client_cn: c.proxyTlsClientCn || undefined } : {}),
    },
    `<= ${sender} H=${c?.helo ?? ""} [${c?.ip ?? ""}] P=${c?.protocol ?? ""}${c?.tlsCipher ? ` X=${c.tlsCipher}` : ""}${c?.authenticatedId ? ` A=${c.authenticatedId}` : ""}${c?.proxySession ? ` PRX=${c.proxyHostAddress}` : ""} S=${size} id=${r.messageId}`,
  );
}
