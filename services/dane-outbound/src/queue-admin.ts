/**
 * The queue as an operator sees it (`postern queue ...`, Exim's -bp / -Mvh / -M / -Mg / -Mrm):
 * the MAIL records still in the work-queue stream joined with their delivery state in KV.
 * Retry, bounce and remove re-publish the record so a worker picks it up now; the worker
 * applies a cancel request written into the state (handle-mail.ts), so events, log lines and
 * bounces come from the one place that writes them.
 *
 * SECURITY: operator tool; MailRecords are decoded defensively (undecodable ones are listed
 * as such, never trusted).
 */
import { codecs, openKv, streamNames, subjects, type Bus } from "@postern/bus";
import { type MailRecord } from "@postern/proto";
import { StateStore, type DeliveryState } from "./state";

export interface QueueEntry {
  seq: number;
  record: MailRecord | undefined;
  state: DeliveryState | undefined;
  /** When the stream stored the record. */
  stored: Date;
}

/** Records in MAIL (oldest first), at most `limit`, each with its state. */
export async function listQueue(bus: Bus, opts: { limit?: number; messageId?: string } = {}): Promise<QueueEntry[]> {
  const info = await bus.jsm.streams.info(streamNames.mail);
  const store = new StateStore(await openKv(bus, "delivery-state"));
  const out: QueueEntry[] = [];
  const limit = opts.limit ?? 1000;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && out.length < limit; seq++) {
    let m;
    try {
      m = await bus.jsm.streams.getMessage(streamNames.mail, { seq });
    } catch {
      continue; // deleted (acked) in the middle of the range
    }
    if (!m || m.subject !== subjects.mailQueued) continue;
    let record: MailRecord | undefined;
    try {
      record = codecs.mail.decode(m.data);
    } catch {
      record = undefined;
    }
    if (opts.messageId !== undefined && record?.messageId !== opts.messageId) continue;
    let state: DeliveryState | undefined;
    if (record) {
      try {
        state = (await store.load(record.messageId)).state;
      } catch {
        state = undefined;
      }
    }
    out.push({ seq, record, state, stored: m.time });
  }
  return out;
}

function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function size(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)}M` : n >= 1024 ? `${(n / 1024).toFixed(1)}K` : String(n);
}

/** Exim's -bp layout: age, size, id, <sender>, then one line per recipient ("D" when done). */
export function formatQueueEntry(e: QueueEntry, now: Date): string[] {
  if (!e.record) return [`${age(now.getTime() - e.stored.getTime()).padStart(4)} ${"?".padStart(5)} seq=${e.seq} (undecodable record)`];
  const r = e.record;
  const received = r.receivedAt ?? e.stored;
  const lines = [`${age(now.getTime() - received.getTime()).padStart(4)} ${size(Number(r.body?.size ?? 0)).padStart(5)} ${r.messageId} <${r.sender}>`];
  r.recipients.forEach((rcpt, pos) => {
    const s = e.state?.rcpts[String(pos)];
    const mark = s && s.status !== "deferred" ? "D" : " ";
    const note = s ? ` (${s.status}${s.errstr ? `: ${s.errstr}` : ""})` : "";
    lines.push(`        ${mark} ${rcpt.address}${note}`);
  });
  return lines;
}

/** Everything known about one message: envelope, state, and the header block of the body when inline. */
export function formatDetails(e: QueueEntry): string[] {
  const r = e.record;
  if (!r) return [`seq=${e.seq}: undecodable record`];
  const s = e.state;
  const lines = [
    `id: ${r.messageId}`,
    `stream seq: ${e.seq}`,
    `sender: <${r.sender}>`,
    `received: ${r.receivedAt?.toISOString() ?? "-"} by ${r.receivedBy || "-"}`,
    `size: ${r.body?.size ?? "?"} ${r.body?.location?.$case === "spoolObject" ? `(spool object ${r.body.location.value})` : "(inline)"}`,
    `dsn: ret=${r.dsnRet} envid=${r.dsnEnvid || "-"}`,
    `attempts: ${s?.attempts ?? 0}`,
    `next attempt: ${s && s.next_attempt_at > 0 ? new Date(s.next_attempt_at).toISOString() : "now"}`,
  ];
  if (s?.cancel) lines.push(`cancel requested: ${s.cancel}`);
  r.recipients.forEach((rcpt, pos) => {
    const st = s?.rcpts[String(pos)];
    lines.push(`recipient ${pos}: ${rcpt.address}${rcpt.notify.length ? ` NOTIFY=${rcpt.notify.join(",")}` : ""} ${st ? `${st.status} (attempt ${st.attempt})${st.errstr ? `: ${st.errstr}` : ""}` : "pending"}`);
  });
  if (r.body?.location?.$case === "inline") {
    const text = Buffer.from(r.body.location.value).toString("utf8");
    const end = text.search(/\r?\n\r?\n/);
    lines.push("", ...(end >= 0 ? text.slice(0, end) : text).split(/\r?\n/));
  }
  return lines;
}

export type QueueAction = "retry" | "bounce" | "remove";

/**
 * Makes a worker take the message now: writes next_attempt_at = 0 (and the cancel request
 * for bounce/remove) into its state, publishes the record again and deletes the parked copy.
 */
export async function actOnMessage(bus: Bus, messageId: string, action: QueueAction): Promise<{ found: boolean; seq?: number }> {
  const [entry] = await listQueue(bus, { messageId, limit: 1 });
  if (!entry?.record) return { found: false };
  const store = new StateStore(await openKv(bus, "delivery-state"));
  for (let tries = 0; tries < 5; tries++) {
    const loaded = await store.load(messageId);
    if (loaded.done) return { found: false };
    const state = loaded.state;
    state.next_attempt_at = 0;
    if (action !== "retry") state.cancel = action;
    try {
      await store.save(messageId, state, loaded.revision);
      break;
    } catch (err) {
      if (tries === 4) throw err;
    }
  }
  await bus.js.publish(subjects.mailQueued, codecs.mail.encode(entry.record), { msgID: `${messageId}.${action}.${Date.now()}` });
  await bus.jsm.streams.deleteMessage(streamNames.mail, entry.seq, false);
  return { found: true, seq: entry.seq };
}
