/**
 * The edge's half of DMARC. At the end of DATA, before the MAIL record is
 * published, the message (inline when small, else a temporary object in the
 * spool bucket) goes out on postern.v1.dmarc.check with the SPF verdict; the
 * dmarc service answers through EdgeCallback.ReportDmarc. The verdict then
 * decides, as Exim's DATA ACL examples do:
 * - reject → 550 5.7.1 (action `reject`, the default);
 * - quarantine → accepted, with X-Postern-Quarantine and the MAIL record's
 *   `quarantine` flag (delivery may file it apart);
 * - temperror (or no verdict in time) → 451 4.7.0 by default, or accepted
 *   (`temperror_action: accept`);
 * - a p=reject author domain writing to a `mailing_lists` recipient → 550
 *   "Messages from <dmarc_used_domain> break mailing lists" (Exim's example);
 * - authenticated senders are not checked ($dmarc_status "off").
 * Every checked message gets the verdict's Authentication-Results header
 * ($dmarc_ar_header) and the MAIL record carries $dmarc_status.
 * A message without a DKIM-Signature field goes out as its header section only
 * (dmarcPayload): without a signature the body decides nothing.
 *
 * SECURITY: the verdict's header text comes from our dmarc service; the edge
 * still flattens line ends when writing headers (accept.ts).
 */
import { type Bus, codecs, type ObjectStore, subjects } from "@postern/bus";
import { type BodyRef, type ClientInfo, type DmarcCheckRequest, DmarcStatus, DmarcVerdict, type SpfVerdict } from "@postern/proto";
import { reply, type Reply, type Transaction } from "@postern/smtp";
import { stringList } from "@postern/service-kit";
import { type Logger } from "pino";
import { z } from "zod";
import { type TxnRegistry } from "./txn";

/** The edge section's `dmarc` block. */
export const dmarcGateSchema = z.strictObject({
  /** publish dmarc.check for every message from an unauthenticated client (needs the dmarc service) */
  enable: z.boolean().default(false),
  /** how long to wait for the verdict; none in time is temperror */
  timeout_ms: z.number().int().positive().default(5_000),
  /** what a `reject` status does: refuse (550 5.7.1), or accept flagged as quarantine */
  reject_action: z.enum(["reject", "quarantine"]).default("reject"),
  /** what temperror does: defer (451 4.7.0) or accept */
  temperror_action: z.enum(["defer", "accept"]).default("defer"),
  /** messages up to this size travel inside the request; larger ones through the spool bucket */
  inline_max: z.number().int().positive().default(256 * 1024),
  /** recipients (lists) for which mail from a p=reject domain is refused: "Messages from X break mailing lists" */
  mailing_lists: stringList.default([]),
  /** the header that marks a message accepted under quarantine */
  quarantine_header: z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/).default("X-Postern-Quarantine"),
});
export type DmarcGateConfig = z.infer<typeof dmarcGateSchema>;

export interface DmarcGateDeps {
  bus: Bus;
  spool: ObjectStore;
  txns: TxnRegistry;
  /** our EdgeCallback address, as workers dial it */
  replyTo: string;
  config: DmarcGateConfig;
  logger: Logger;
}

export interface DmarcGateInput {
  transaction: Transaction;
  /** the message as received */
  chunks: readonly Buffer[];
  client: ClientInfo;
  spf: SpfVerdict | undefined;
  authenticated: boolean;
}

export interface DmarcOutcome {
  /** set when the message must be refused (then nothing is stored) */
  reply?: Reply;
  /** header fields to add (no line end) */
  headers: string[];
  /** MAIL record fields */
  fields: { dmarcStatus: string; quarantine: boolean };
  verdict?: DmarcVerdict;
}

export type DmarcGate = (input: DmarcGateInput) => Promise<DmarcOutcome>;

const statusNames: Record<number, string> = {
  [DmarcStatus.DMARC_STATUS_ACCEPT]: "accept",
  [DmarcStatus.DMARC_STATUS_NONE]: "none",
  [DmarcStatus.DMARC_STATUS_OFF]: "off",
  [DmarcStatus.DMARC_STATUS_NOFROM]: "nofrom",
  [DmarcStatus.DMARC_STATUS_QUARANTINE]: "quarantine",
  [DmarcStatus.DMARC_STATUS_REJECT]: "reject",
  [DmarcStatus.DMARC_STATUS_TEMPERROR]: "temperror",
};

export function dmarcStatusName(status: DmarcStatus): string {
  return statusNames[status] ?? "temperror";
}

const printable = (s: string): string => s.replace(/[^\x20-\x7e]/g, "?").slice(0, 200);

/** The decision for a verdict, pure (tests use it directly). */
export function dmarcDecision(verdict: DmarcVerdict, recipients: readonly string[], config: DmarcGateConfig): DmarcOutcome {
  const status = dmarcStatusName(verdict.status);
  const used = printable(verdict.usedDomain);
  const headers = verdict.arHeader === "" ? [] : [verdict.arHeader];
  const lists = new Set(config.mailing_lists.map((a) => a.toLowerCase()));
  if (verdict.domainPolicy === "reject" && recipients.some((r) => lists.has(r.toLowerCase()))) {
    return { reply: reply(550, "5.7.1", `Messages from ${used} break mailing lists`), headers, fields: { dmarcStatus: status, quarantine: false }, verdict };
  }
  switch (status) {
    case "reject":
      if (config.reject_action === "reject") {
        return { reply: reply(550, "5.7.1", `Message from ${used} failed sender's DMARC policy, REJECT`), headers, fields: { dmarcStatus: status, quarantine: false }, verdict };
      }
      return quarantined(verdict, used, headers, status, config);
    case "quarantine":
      return quarantined(verdict, used, headers, status, config);
    case "temperror":
      if (config.temperror_action === "defer") {
        return { reply: reply(451, "4.7.0", "Temporary error in DMARC evaluation, try again later"), headers, fields: { dmarcStatus: status, quarantine: false }, verdict };
      }
      return { headers, fields: { dmarcStatus: status, quarantine: false }, verdict };
    default:
      return { headers, fields: { dmarcStatus: status, quarantine: false }, verdict };
  }
}

function quarantined(verdict: DmarcVerdict, used: string, headers: string[], status: string, config: DmarcGateConfig): DmarcOutcome {
  return {
    headers: [...headers, `${config.quarantine_header}: DMARC policy of ${used} (${status})`],
    fields: { dmarcStatus: status, quarantine: true },
    verdict,
  };
}

function temperror(txnId: string, why: string): DmarcVerdict {
  return DmarcVerdict.fromPartial({ txnId, status: DmarcStatus.DMARC_STATUS_TEMPERROR, statusText: why, result: "temperror" });
}

const DKIM_SIGNATURE_FIELD = /(?:^|\n)dkim-signature[ \t]*:/i;
const BARE_LF = /(?:^|[^\r])\n/;

/**
 * What the dmarc service needs of a message: all of it when a DKIM-Signature field is in the
 * header section (the body hash is checked), else the header section alone, through the empty
 * line. With no signature DKIM is "none" whatever the body says, DMARC reads only From:, and a
 * failure report carries only headers (RFC 6591 text/rfc822-headers), so the verdict is the same;
 * a 100 KB message then costs the edge, NATS and the dmarc service a few KB instead.
 * A message with no empty line, or with bare LF line ends, goes whole.
 */
export function dmarcPayload(message: Buffer): Buffer {
  const end = message.indexOf("\r\n\r\n");
  if (end <= 0 || (message[0] === 0x0d && message[1] === 0x0a)) return message;
  const headers = message.subarray(0, end + 4).toString("latin1");
  if (BARE_LF.test(headers) || DKIM_SIGNATURE_FIELD.test(headers)) return message;
  return message.subarray(0, end + 4);
}

export function createDmarcGate(deps: DmarcGateDeps): DmarcGate {
  const { config, logger } = deps;
  return async (input) => {
    if (input.authenticated) return { headers: [], fields: { dmarcStatus: "off", quarantine: false } };
    const { txnId, verdict } = deps.txns.open<DmarcVerdict>("dmarc", config.timeout_ms);
    const body = dmarcPayload(Buffer.concat(input.chunks));
    let spooled: string | undefined;
    let result: DmarcVerdict;
    try {
      let ref: BodyRef;
      // plain objects, not fromPartial: every field is set here, and the deep copy (client, body, SPF verdict) is per message
      if (body.length <= config.inline_max) ref = { location: { $case: "inline", value: body }, size: String(body.length), sha256: "" };
      else {
        spooled = `dmarc-${txnId}`;
        await deps.spool.putBlob({ name: spooled }, body);
        ref = { location: { $case: "spoolObject", value: spooled }, size: String(body.length), sha256: "" };
      }
      const request: DmarcCheckRequest = {
        replyTo: { grpcAddress: deps.replyTo, txnId },
        client: input.client,
        sender: input.transaction.mail.sender?.address ?? "",
        body: ref,
        ...(input.spf === undefined ? {} : { spf: input.spf }),
      };
      deps.bus.nc.publish(subjects.dmarcCheck, codecs.dmarcCheck.encode(request));
      result = (await verdict) ?? temperror(txnId, "no DMARC verdict in time");
    } catch (err) {
      logger.warn({ event: "edge.dmarc_unavailable", err }, "dmarc.check not sent");
      deps.txns.resolve("dmarc", txnId, null);
      result = temperror(txnId, "DMARC check not sent");
    } finally {
      if (spooled !== undefined) deps.spool.delete(spooled).catch(() => undefined);
    }
    const outcome = dmarcDecision(
      result,
      input.transaction.recipients.map((r) => r.recipient.address),
      config,
    );
    // A message that goes on is logged once, by its reception line (msg.received, with dmarc_status
    // and dmarc_domain); a refusal has no reception line, so its verdict gets a line of its own.
    const level = outcome.reply === undefined ? "debug" : "info";
    logger[level](
      { event: "edge.dmarc_verdict", status: outcome.fields.dmarcStatus, used_domain: result.usedDomain, policy: result.domainPolicy, ip: input.client.ip, refused: outcome.reply?.code },
      `H=[${input.client.ip}] DMARC ${outcome.fields.dmarcStatus}${result.usedDomain ? ` (${result.usedDomain})` : ""}${outcome.reply ? `: ${outcome.reply.code}` : ""}`,
    );
    return outcome;
  };
}
