/**
 * The webhook dead-letter stream EVENTS_DLQ: one message per event whose
 * retry time ran out (the event as stored in EVENTS, with headers naming the
 * endpoint, the attempts and the last error). Replaying moves a dead letter
 * to the work queue EVENTS_REPLAY, which the endpoint's worker consumes like
 * new events, and deletes it from EVENTS_DLQ.
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { DeliverPolicy, type JsMsg, type StoredMsg } from "@nats-io/jetstream";
import { type Bus, codecs } from "@postern/bus";
import type { Event } from "@postern/proto";
import { deadLetterStream, dlqHeaders, dlqSubjects } from "../names";

export interface DeadLetter {
  /** Sequence in EVENTS_DLQ (what `replay --seq` takes). */
  dlqSequence: number;
  endpoint: string;
  eventId: string;
  eventName: string;
  /** The event's sequence in EVENTS. */
  eventSequence: number;
  attempts: number;
  lastError: string;
  failedAt: string;
  event: Event | undefined;
}

export interface DeadLetterInput {
  endpoint: string;
  /** The event as stored (protobuf bytes). */
  data: Uint8Array;
  event: Event;
  eventSequence: number;
  attempts: number;
  lastError: string;
  /** De-duplication id: the same dead letter published twice (a crash before the ack) is stored once. */
  msgId: string;
}

const headerValue = (value: string): string => value.replace(/[\r\n]+/g, " ").slice(0, 1024);

export async function publishDeadLetter(bus: Bus, input: DeadLetterInput, now = new Date()): Promise<number> {
  const h = natsHeaders();
  h.set(dlqHeaders.endpoint, input.endpoint);
  h.set(dlqHeaders.eventId, headerValue(input.event.id));
  h.set(dlqHeaders.eventName, input.event.name);
  h.set(dlqHeaders.sequence, String(input.eventSequence));
  h.set(dlqHeaders.attempts, String(input.attempts));
  h.set(dlqHeaders.lastError, headerValue(input.lastError || "unknown error"));
  h.set(dlqHeaders.failedAt, now.toISOString());
  const ack = await bus.js.publish(dlqSubjects.deadLetter(input.endpoint), input.data, { msgID: input.msgId, headers: h, expect: { streamName: deadLetterStream } });
  return ack.seq;
}

function fromMessage(seq: number, subject: string, hdrs: MsgHdrs | undefined, data: Uint8Array): DeadLetter {
  const get = (key: string): string => hdrs?.get(key) ?? "";
  let event: Event | undefined;
  try {
    event = codecs.event.decode(data);
  } catch {
    event = undefined;
  }
  return {
    dlqSequence: seq,
    endpoint: get(dlqHeaders.endpoint) || subject.slice(dlqSubjects.deadLetter("").length),
    eventId: get(dlqHeaders.eventId) || (event?.id ?? ""),
    eventName: get(dlqHeaders.eventName) || (event?.name ?? ""),
    eventSequence: Number(get(dlqHeaders.sequence) || "0"),
    attempts: Number(get(dlqHeaders.attempts) || "0"),
    lastError: get(dlqHeaders.lastError),
    failedAt: get(dlqHeaders.failedAt),
    event,
  };
}

/** Dead letters in EVENTS_DLQ, oldest first; `endpoint` narrows to one endpoint, `limit` caps the count. */
export async function listDeadLetters(bus: Bus, opts: { endpoint?: string; limit?: number } = {}): Promise<DeadLetter[]> {
  const subject = opts.endpoint ? dlqSubjects.deadLetter(opts.endpoint) : dlqSubjects.deadLetterAll;
  const info = await bus.jsm.streams.info(deadLetterStream, { subjects_filter: subject });
  const total = Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  const want = Math.min(total, opts.limit ?? Number.MAX_SAFE_INTEGER);
  const found: DeadLetter[] = [];
  if (want === 0) return found;
  const consumer = await bus.js.consumers.get(deadLetterStream, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  while (found.length < want) {
    const batch = await consumer.fetch({ max_messages: Math.min(256, want - found.length), expires: 2000 });
    let last: JsMsg | undefined;
    for await (const m of batch) {
      found.push(fromMessage(m.seq, m.subject, m.headers, m.data));
      last = m;
    }
    if (last === undefined || last.info.pending === 0) break;
  }
  return found;
}

async function storedMessage(bus: Bus, seq: number): Promise<StoredMsg | undefined> {
  try {
    return (await bus.jsm.streams.getMessage(deadLetterStream, { seq })) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Queues dead letters for delivery again: those with the given EVENTS_DLQ
 * sequences, else all of `endpoint`'s, else all. Each goes to EVENTS_REPLAY
 * and is then deleted from EVENTS_DLQ. Returns what was queued and the
 * sequences that were not found.
 */
export async function replayDeadLetters(bus: Bus, opts: { endpoint?: string; sequences?: number[] }): Promise<{ replayed: DeadLetter[]; missing: number[] }> {
  const replayed: DeadLetter[] = [];
  const missing: number[] = [];
  const queue = async (seq: number, subject: string, hdrs: MsgHdrs | undefined, data: Uint8Array): Promise<void> => {
    const letter = fromMessage(seq, subject, hdrs, data);
    const h = natsHeaders();
    for (const key of Object.values(dlqHeaders)) {
      const value = hdrs?.get(key);
      if (value) h.set(key, value);
    }
    h.set(dlqHeaders.replayOf, String(seq));
    await bus.js.publish(dlqSubjects.replay(letter.endpoint), data, { msgID: `replay-${seq}`, headers: h });
    await bus.jsm.streams.deleteMessage(deadLetterStream, seq);
    replayed.push(letter);
  };
  if (opts.sequences && opts.sequences.length > 0) {
    for (const seq of opts.sequences) {
      const stored = await storedMessage(bus, seq);
      if (stored === undefined || (opts.endpoint && stored.subject !== dlqSubjects.deadLetter(opts.endpoint))) missing.push(seq);
      else await queue(seq, stored.subject, stored.header, stored.data);
    }
    return { replayed, missing };
  }
  for (const letter of await listDeadLetters(bus, { endpoint: opts.endpoint })) {
    const stored = await storedMessage(bus, letter.dlqSequence);
    if (stored === undefined) missing.push(letter.dlqSequence);
    else await queue(letter.dlqSequence, stored.subject, stored.header, stored.data);
  }
  return { replayed, missing };
}
