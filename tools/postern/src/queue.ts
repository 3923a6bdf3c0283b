import { type Bus } from "@postern/bus";
import { actOnMessage, formatDetails, formatQueueEntry, listQueue, type QueueAction } from "@postern/dane-outbound";
import { MailRecord } from "@postern/proto";

/** postern queue list: Exim's -bp over the MAIL stream and KV delivery-state. */
export async function queueList(bus: Bus, opts: { limit?: number; json: boolean; out: (line: string) => void }): Promise<number> {
  const entries = await listQueue(bus, { limit: opts.limit });
  const now = new Date();
  for (const e of entries) {
    if (opts.json) opts.out(JSON.stringify({ seq: e.seq, stored: e.stored.toISOString(), record: e.record ? MailRecord.toJSON(e.record) : null, state: e.state ?? null }));
    else for (const line of [...formatQueueEntry(e, now), ""]) opts.out(line);
  }
  if (!opts.json) opts.out(`${entries.length} message(s) in the queue`);
  return 0;
}

/** postern queue show ID */
export async function queueShow(bus: Bus, id: string, opts: { out: (line: string) => void; err: (line: string) => void }): Promise<number> {
  const [entry] = await listQueue(bus, { messageId: id, limit: 1 });
  if (!entry) return (opts.err(`postern: no message ${id} in the queue`), 1);
  for (const line of formatDetails(entry)) opts.out(line);
  return 0;
}

/** postern queue retry|bounce|remove ID... */
export async function queueAct(bus: Bus, action: QueueAction, ids: string[], opts: { out: (line: string) => void; err: (line: string) => void }): Promise<number> {
  let missing = 0;
  for (const id of ids) {
    const r = await actOnMessage(bus, id, action);
    if (r.found) opts.out(`${id}: ${action === "retry" ? "queued for delivery now" : action === "bounce" ? "will be bounced now" : "will be removed now"}`);
    else {
      missing++;
      opts.err(`postern: no message ${id} in the queue`);
    }
  }
  return missing > 0 ? 1 : 0;
}
