import { type Bus } from "@postern/bus";
import { type DeadLetter, listDeadLetters, replayDeadLetters } from "@postern/delivery-events";
import { Event } from "@postern/proto";

function quote(value: string): string {
  return /^[\w@.:/+-]+$/.test(value) ? value : JSON.stringify(value);
}

/** One line per dead letter: its EVENTS_DLQ sequence (what replay --seq takes), endpoint, when, the event and the last error. */
export function formatDeadLetter(letter: DeadLetter): string {
  return [
    `seq=${letter.dlqSequence}`,
    `endpoint=${letter.endpoint}`,
    `failed=${letter.failedAt || "-"}`,
    `attempts=${letter.attempts}`,
    letter.eventName || "-",
    `event_id=${quote(letter.eventId || "-")}`,
    `id=${quote(letter.event?.messageId || "-")}`,
    `event_seq=${letter.eventSequence}`,
    `error=${quote(letter.lastError || "-")}`,
  ].join(" ");
}

const isMissingStream = (err: unknown): boolean => err instanceof Error && /stream not found/i.test(err.message);

export async function dlqList(bus: Bus, opts: { endpoint?: string; limit?: number; json: boolean; out: (line: string) => void }): Promise<number> {
  let letters: DeadLetter[];
  try {
    letters = await listDeadLetters(bus, { endpoint: opts.endpoint, limit: opts.limit });
  } catch (err) {
    if (!isMissingStream(err)) throw err;
    letters = [];
  }
  for (const letter of letters) {
    opts.out(opts.json ? JSON.stringify({ ...letter, event: letter.event ? Event.toJSON(letter.event) : null }) : formatDeadLetter(letter));
  }
  if (!opts.json) opts.out(`${letters.length} dead letter(s)${opts.endpoint ? ` for endpoint ${opts.endpoint}` : ""}`);
  return 0;
}

export async function dlqReplay(bus: Bus, opts: { endpoint?: string; sequences: number[]; out: (line: string) => void; err: (line: string) => void }): Promise<number> {
  const { replayed, missing } = await replayDeadLetters(bus, { endpoint: opts.endpoint, sequences: opts.sequences });
  for (const letter of replayed) opts.out(`replayed seq=${letter.dlqSequence} endpoint=${letter.endpoint} event_id=${quote(letter.eventId)}`);
  for (const seq of missing) opts.err(`postern: no dead letter with sequence ${seq}${opts.endpoint ? ` for endpoint ${opts.endpoint}` : ""}`);
  opts.out(`${replayed.length} dead letter(s) queued for delivery again`);
  return missing.length > 0 ? 1 : 0;
}
