/**
 * Report side effects of the dmarc service:
 * - every evaluation that found a policy with a rua= gives one aggregate row;
 *   AggregateRecorder merges the rows per policy domain in memory for up to
 *   reports.flush_ms and appends them as one message per domain to the
 *   JetStream stream DMARC_AGGREGATE (subject postern.v1.dmarc.aggregate.<hex
 *   policy domain>), instead of one publish and PubAck per message (ADR 0008);
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
  type DmarcRecord,
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
import { type Logger } from "pino";
import { logEvents } from "./diagnostics";

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

/** One row as recordAggregate stores it (the format before batching; still read). */
interface StoredRow {
  policy: PolicyPublished;
  rua: string[];
  row: AggregateRow;
  at: number;
}

/** Rows of one policy domain merged over a flush window (AggregateRecorder). `rows` carry their counts. */
interface StoredBatch {
  policy: PolicyPublished;
  rua: string[];
  rows: AggregateRow[];
  begin: number;
  end: number;
}

function aggregateSubject(domain: string): string {
  return `${AGGREGATE_SUBJECT_PREFIX}.${Buffer.from(domain).toString("hex")}`;
}

/** Appends one row for a verdict that found a policy, at once; false when there is nothing to report. */
export async function recordAggregate(bus: Bus, v: DmarcVerdict, facts: { sourceIp: string; envelopeTo?: string }, now = Date.now()): Promise<boolean> {
  const policy = policyPublished(v);
  if (policy === undefined || v.record === undefined || v.record.rua.length === 0) return false;
  const stored: StoredRow = { policy, rua: v.record.rua.map((u) => u.uri), row: aggregateRow(v, facts), at: Math.floor(now / 1000) };
  await bus.js.publish(aggregateSubject(policy.domain), Buffer.from(JSON.stringify(stored)), { expect: { streamName: AGGREGATE_STREAM } });
  return true;
}

type Counted = { count: number };

const keyPart = (s: string): string => `${s.length}:${s}`;
const optionalPart = (s: string | undefined): string => (s === undefined ? "-" : keyPart(s));

/**
 * The merge key of a row: its facts without the count, as one string that two
 * rows share exactly when those facts are equal (strings length-prefixed, an
 * absent optional field marked, list lengths counted). Half the cost of
 * JSON.stringify(row), which it replaces as the key (reports.test.ts).
 */
export function rowKey(row: AggregateRow): string {
  let k = keyPart(row.sourceIp) + keyPart(row.disposition) + keyPart(row.dkim) + keyPart(row.spf) + String(row.reasons.length) + "|";
  for (const r of row.reasons) k += keyPart(r.type) + optionalPart(r.comment);
  k += optionalPart(row.envelopeTo) + optionalPart(row.envelopeFrom) + keyPart(row.headerFrom) + String(row.dkimResults.length) + "|";
  for (const d of row.dkimResults) k += keyPart(d.domain) + keyPart(d.selector) + keyPart(d.result) + optionalPart(d.humanResult);
  k += String(row.spfResults.length) + "|";
  for (const r of row.spfResults) k += keyPart(r.domain) + optionalPart(r.scope) + keyPart(r.result);
  return k;
}

interface PendingDomain {
  policy: PolicyPublished;
  rua: string[];
  /** what policy and rua were built from */
  record: DmarcRecord | undefined;
  mode: DmarcMode;
  /** merged rows by mergeRows' key (the row without its count) */
  rows: Map<string, AggregateRow>;
  begin: number;
  end: number;
  /** evaluations behind the rows */
  evaluations: number;
}

export interface AggregateRecorderOptions {
  /** longest a row waits in memory before it is published */
  flushMs: number;
  /** distinct rows held before a flush is started at once; also the bound kept across failed flushes */
  maxRows: number;
  logger: Logger;
  /** evaluations whose rows were published (ok) or dropped after a failure (error) */
  onFlushed?: (outcome: "ok" | "error", evaluations: number) => void;
  now?: () => number;
}

/**
 * Aggregate rows coalesced per policy domain: add() is synchronous and cheap,
 * flushes publish one message per domain (rows merged with their counts, as
 * the report merges them anyway). A row is in memory for at most flushMs, and
 * close() publishes what is left, so a stop loses nothing; a crash loses the
 * rows of the open window (aggregate reports are statistics, ADR 0008). A
 * failed publish keeps the rows for the next flush while they fit in maxRows.
 */
export class AggregateRecorder {
  private pending = new Map<string, PendingDomain>();
  private distinctRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly now: () => number;

  constructor(
    private readonly bus: Bus,
    private readonly options: AggregateRecorderOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Takes the row of a verdict; false when there is nothing to report (no policy or no rua=). */
  add(v: DmarcVerdict, facts: { sourceIp: string; envelopeTo?: string }): boolean {
    const { record, policyDomain } = v;
    if (record === undefined || policyDomain === undefined || record.rua.length === 0) return false;
    const at = Math.floor(this.now() / 1000);
    let entry = this.pending.get(policyDomain);
    // Parsed records are shared while their text is unchanged (libdmarc's cache), so the
    // published policy is rebuilt only when the domain's record changed.
    if (entry === undefined || entry.record !== record || entry.mode !== v.mode) {
      const policy = policyPublished(v);
      if (policy === undefined) return false;
      const rua = record.rua.map((u) => u.uri);
      if (entry === undefined) {
        entry = { policy, rua, record, mode: v.mode, rows: new Map(), begin: at, end: at, evaluations: 0 };
        this.pending.set(policyDomain, entry);
      } else {
        // the last policy seen during the period is the one reported (RFC 9990 2.1)
        Object.assign(entry, { policy, rua, record, mode: v.mode });
      }
    }
    entry.end = at;
    const row = aggregateRow(v, facts);
    entry.evaluations++;
    const key = rowKey(row);
    const prev = entry.rows.get(key);
    if (prev === undefined) {
      entry.rows.set(key, row);
      this.distinctRows++;
    } else (prev as Counted).count += row.count; // rows in `pending` are the recorder's own
    if (this.closed || this.distinctRows >= this.options.maxRows) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs).unref();
    return true;
  }

  /** Publishes everything held now; resolves when that and any earlier flush are done. Never rejects. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.pending;
    if (batch.size === 0) return this.flushing;
    this.pending = new Map();
    this.distinctRows = 0;
    this.flushing = this.flushing.then(() => this.publish(batch));
    return this.flushing;
  }

  /** Flushes what is held and publishes later rows at once (shutdown: the stream is still there). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async publish(batch: Map<string, PendingDomain>): Promise<void> {
    await Promise.all(
      [...batch.values()].map(async (entry) => {
        const stored: StoredBatch = { policy: entry.policy, rua: entry.rua, rows: [...entry.rows.values()], begin: entry.begin, end: entry.end };
        try {
          await this.bus.js.publish(aggregateSubject(entry.policy.domain), Buffer.from(JSON.stringify(stored)), { expect: { streamName: AGGREGATE_STREAM } });
          this.options.onFlushed?.("ok", entry.evaluations);
        } catch (err) {
          this.keep(entry, err);
        }
      }),
    );
  }

  /** A failed domain's rows go back into the pending set for the next flush, unless that would pass maxRows. */
  private keep(entry: PendingDomain, err: unknown): void {
    const log = { event: logEvents.aggregateFailed, domain: entry.policy.domain, rows: entry.rows.size, evaluations: entry.evaluations, err };
    if (this.closed || this.distinctRows + entry.rows.size > this.options.maxRows) {
      this.options.onFlushed?.("error", entry.evaluations);
      this.options.logger.warn(log, "aggregate rows not recorded");
      return;
    }
    this.options.logger.warn(log, "aggregate rows not recorded yet; kept for the next flush");
    const now = this.pending.get(entry.policy.domain);
    if (now === undefined) this.pending.set(entry.policy.domain, entry);
    else {
      now.begin = Math.min(now.begin, entry.begin);
      now.evaluations += entry.evaluations;
      for (const [key, row] of entry.rows) {
        const prev = now.rows.get(key);
        if (prev === undefined) now.rows.set(key, row);
        else (prev as Counted).count += row.count;
      }
    }
    this.distinctRows += entry.rows.size;
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs).unref();
  }
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
    let stored: StoredBatch;
    try {
      const parsed = JSON.parse(Buffer.from(msg.data).toString("utf8")) as StoredRow | StoredBatch;
      // a single row (recordAggregate, or a stream written before batching) is a batch of one
      stored = "rows" in parsed ? parsed : { policy: parsed.policy, rua: parsed.rua, rows: [parsed.row], begin: parsed.at, end: parsed.at };
    } catch {
      continue;
    }
    if (typeof stored.policy?.domain !== "string" || !Array.isArray(stored.rows)) continue;
    const entry = byDomain.get(stored.policy.domain);
    if (entry === undefined) byDomain.set(stored.policy.domain, { policy: stored.policy, rua: stored.rua, rows: [...stored.rows], begin: stored.begin, end: stored.end });
    else {
      // the last policy seen during the period is the one reported (RFC 9990 2.1)
      entry.policy = stored.policy;
      entry.rua = stored.rua;
      entry.rows.push(...stored.rows);
      entry.begin = Math.min(entry.begin, stored.begin);
      entry.end = Math.max(entry.end, stored.end);
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
