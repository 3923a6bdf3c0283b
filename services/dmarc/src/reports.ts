/**
 * Report side effects of the dmarc service:
 * - every evaluation that found a policy appends one aggregate row to the
 *   JetStream stream DMARC_AGGREGATE (subject postern.v1.dmarc.aggregate.<hex policy domain>);
 * - runAggregateReports (the report job: `postern-dmarc-report`, or a test)
 *   reads the rows, builds one RFC 9990 report per policy domain, verifies the
 *   rua= destinations and queues each report as a MAIL record, then purges the
 *   rows it reported;
 * - with dmarc_enable_forensic, a failure the record's fo= asks about becomes
 *   an RFC 6591 report queued as a MAIL record to the verified ruf= addresses.
 * Reports travel through the outbound queue like any message (dane-outbound).
 *
 * SECURITY: rows hold sender-controlled domains; they are JSON in our own
 * stream and escaped when put into XML. Report destinations come from DNS
 * and are used only after the external-destination check.
 */
import { createHash, randomBytes } from "node:crypto";
import { type Bus, codecs, streamNames, subjects } from "@postern/bus";
import {
  type AggregateRow,
  aggregateRow,
  buildAggregateMessage,
  buildAggregateXml,
  buildFailureReport,
  type DmarcDns,
  type DmarcMode,
  type DmarcVerdict,
  mergeRows,
  parseReportUris,
  policyPublished,
  type PolicyPublished,
  verifyReportUris,
  wantsFailureReport,
} from "@postern/libdmarc";
import { MailRecord } from "@postern/proto";
import { StorageType } from "@nats-io/jetstream";

export const AGGREGATE_STREAM = "DMARC_AGGREGATE";
export const AGGREGATE_SUBJECT_PREFIX = "postern.v1.dmarc.aggregate";

/** Creates (or updates) the aggregate row stream. */
export async function ensureAggregateStream(bus: Bus, maxAgeSeconds: number): Promise<void> {
  const config = { name: AGGREGATE_STREAM, subjects: [`${AGGREGATE_SUBJECT_PREFIX}.>`], storage: StorageType.File, max_age: maxAgeSeconds * 1_000_000_000 };
  try {
    await bus.jsm.streams.info(AGGREGATE_STREAM);
    await bus.jsm.streams.update(AGGREGATE_STREAM, { subjects: config.subjects, max_age: config.max_age });
  } catch {
    await bus.jsm.streams.add(config);
  }
}

interface StoredRow {
  policy: PolicyPublished;
  rua: string[];
  row: AggregateRow;
  at: number;
}

/** Appends one row for a verdict that found a policy; false when there is nothing to report. */
export async function recordAggregate(bus: Bus, v: DmarcVerdict, facts: { sourceIp: string; envelopeTo?: string }, now = Date.now()): Promise<boolean> {
  const policy = policyPublished(v);
  if (policy === undefined || v.record === undefined || v.record.rua.length === 0) return false;
  const stored: StoredRow = { policy, rua: v.record.rua.map((u) => u.uri), row: aggregateRow(v, facts), at: Math.floor(now / 1000) };
  const subject = `${AGGREGATE_SUBJECT_PREFIX}.${Buffer.from(policy.domain).toString("hex")}`;
  await bus.js.publish(subject, Buffer.from(JSON.stringify(stored)), { expect: { streamName: AGGREGATE_STREAM } });
  return true;
}

export function newReportMessageId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, "0")}-${randomBytes(8).readBigUInt64BE().toString(36).padStart(13, "0")}`;
}

/** Queues a message for delivery: a MAIL record with the body inline, PubAck awaited. */
export async function queueMail(bus: Bus, mail: { sender: string; recipients: readonly string[]; body: Buffer; receivedBy: string }): Promise<string> {
  const id = newReportMessageId();
  const record = MailRecord.fromPartial({
    messageId: id,
    receivedAt: new Date(),
    sender: mail.sender,
    recipients: mail.recipients.map((address, index) => ({ address, notify: ["NEVER"], orcpt: "", index })),
    body: { location: { $case: "inline", value: mail.body }, size: String(mail.body.length), sha256: createHash("sha256").update(mail.body).digest("hex") },
    client: { ip: "127.0.0.1", helo: mail.receivedBy, protocol: "local" },
    receivedBy: mail.receivedBy,
  });
  await bus.js.publish(subjects.mailQueued, codecs.mail.encode(record), { msgID: id, expect: { streamName: streamNames.mail } });
  return id;
}

/**
 * A fixed-window limit per domain (RFC 9991: receivers limit failure reports,
 * so a forged flood cannot be turned into a report flood). In memory, per instance.
 */
export class ReportLimiter {
  private window = 0;
  private readonly counts = new Map<string, number>();
  constructor(
    private readonly maxPerWindow: number,
    private readonly windowMs = 3_600_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one report slot for the domain; false when its budget for this window is spent. */
  take(domain: string): boolean {
    const w = Math.floor(this.now() / this.windowMs);
    if (w !== this.window) {
      this.window = w;
      this.counts.clear();
    }
    const n = this.counts.get(domain) ?? 0;
    if (n >= this.maxPerWindow || this.counts.size >= 100_000) return false;
    this.counts.set(domain, n + 1);
    return true;
  }
}

export interface ForensicDeps {
  bus: Bus;
  dns: DmarcDns;
  mode: DmarcMode;
  sender: string;
  reportingMta: string;
  limiter?: ReportLimiter;
}

/** Queues a failure report when the record asks for one and a ruf= destination verifies. Returns the message id or null. */
export async function sendForensic(
  deps: ForensicDeps,
  v: DmarcVerdict,
  facts: { body: Buffer; sourceIp: string; mailFrom: string; rcptTo?: readonly string[]; deliveryResult: "delivered" | "spam" | "reject" | "other" },
): Promise<{ messageId: string; recipients: string[] } | null> {
  if (!wantsFailureReport(v) || v.record === undefined || v.policyDomain === undefined) return null;
  if (deps.limiter !== undefined && !deps.limiter.take(v.authorDomain ?? v.policyDomain)) return null;
  const uris = await verifyReportUris(deps.dns, deps.mode, v.policyDomain, v.record.ruf, "ruf");
  const recipients = uris.map((u) => u.address).filter((a): a is string => a !== undefined);
  if (recipients.length === 0) return null;
  const report = buildFailureReport(
    v,
    { headers: facts.body, sourceIp: facts.sourceIp, mailFrom: facts.mailFrom, ...(facts.rcptTo === undefined ? {} : { rcptTo: facts.rcptTo }), arrival: new Date(), reportingMta: deps.reportingMta, deliveryResult: facts.deliveryResult },
    { from: deps.sender, to: recipients, userAgent: "Postern" },
  );
  const messageId = await queueMail(deps.bus, { sender: deps.sender, recipients, body: report, receivedBy: deps.reportingMta });
  return { messageId, recipients };
}

export interface AggregateJobDeps {
  bus: Bus;
  dns: DmarcDns;
  mode: DmarcMode;
  /** our host name: the Submitter and the file name's receiver */
  receiver: string;
  orgName: string;
  /** report_metadata/email and the report's From */
  email: string;
  now?: () => number;
  /** queue the reports (default true); false builds them only */
  send?: boolean;
}

export interface AggregateOutput {
  domain: string;
  xml: string;
  rows: number;
  recipients: string[];
  messageId?: string;
}

/** The report job: every row recorded so far, one report per policy domain; reported rows are purged. */
export async function runAggregateReports(deps: AggregateJobDeps): Promise<AggregateOutput[]> {
  const { bus } = deps;
  const info = await bus.jsm.streams.info(AGGREGATE_STREAM);
  const first = info.state.first_seq;
  const last = info.state.last_seq;
  if (info.state.messages === 0) return [];
  const byDomain = new Map<string, { policy: PolicyPublished; rua: string[]; rows: AggregateRow[]; begin: number; end: number }>();
  for (let seq = first; seq <= last; seq++) {
    let msg;
    try {
      msg = await bus.jsm.streams.getMessage(AGGREGATE_STREAM, { seq });
    } catch {
      continue; // deleted
    }
    if (msg === null) continue;
    let stored: StoredRow;
    try {
      stored = JSON.parse(Buffer.from(msg.data).toString("utf8")) as StoredRow;
    } catch {
      continue;
    }
    const entry = byDomain.get(stored.policy.domain);
    if (entry === undefined) byDomain.set(stored.policy.domain, { policy: stored.policy, rua: stored.rua, rows: [stored.row], begin: stored.at, end: stored.at });
    else {
      // the last policy seen during the period is the one reported (RFC 9990 2.1)
      entry.policy = stored.policy;
      entry.rua = stored.rua;
      entry.rows.push(stored.row);
      entry.begin = Math.min(entry.begin, stored.at);
      entry.end = Math.max(entry.end, stored.at);
    }
  }
  const out: AggregateOutput[] = [];
  const nowSec = Math.floor((deps.now ?? Date.now)() / 1000);
  for (const [domain, entry] of byDomain) {
    const reportId = `${nowSec.toString(36)}${randomBytes(6).toString("hex")}`;
    const report = {
      orgName: deps.orgName,
      email: deps.email,
      reportId,
      begin: entry.begin,
      end: Math.max(entry.end, nowSec),
      generator: "Postern",
      policy: entry.policy,
      rows: mergeRows(entry.rows),
    };
    const xml = buildAggregateXml(report);
    const verified = await verifyReportUris(deps.dns, deps.mode, domain, parseReportUris(entry.rua.join(",")), "rua");
    const recipients = verified.map((u) => u.address).filter((a): a is string => a !== undefined);
    const result: AggregateOutput = { domain, xml, rows: report.rows.length, recipients };
    if (deps.send !== false && recipients.length > 0) {
      const { message } = buildAggregateMessage(report, { from: deps.email, to: recipients, receiver: deps.receiver });
      result.messageId = await queueMail(bus, { sender: deps.email, recipients, body: message, receivedBy: deps.receiver });
    }
    out.push(result);
  }
  if (deps.send !== false) await bus.jsm.streams.purge(AGGREGATE_STREAM, { seq: last + 1 });
  return out;
}
