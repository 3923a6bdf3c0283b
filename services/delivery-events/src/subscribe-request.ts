/**
 * Events.Subscribe requests: validation and where a subscription starts.
 * Pure: no I/O.
 */
import type { SubscribeRequest } from "@postern/proto";
import { subjects } from "@postern/bus";
import { type EventFilter, filterProblem } from "./filters";
import { WORKER_NAME } from "./names";

/** Where a new consumer starts reading EVENTS. */
export type StartPosition = { kind: "new" } | { kind: "all" } | { kind: "sequence"; sequence: number } | { kind: "time"; time: Date };

export interface ParsedSubscribe {
  filter: EventFilter;
  start: StartPosition;
  /** after_sequence, 0 when not given. */
  afterSequence: number;
  durableName: string;
}

export function requestFilter(request: SubscribeRequest): EventFilter {
  return { names: request.names, senderDomains: request.senderDomains, recipientDomains: request.recipientDomains, messageId: request.messageId };
}

/** The request's meaning, or the reason it is refused (INVALID_ARGUMENT). */
export function parseSubscribe(request: SubscribeRequest): ParsedSubscribe | { problem: string } {
  const filter = requestFilter(request);
  const problem = filterProblem(filter);
  if (problem !== undefined) return { problem };
  if (!/^\d*$/.test(request.afterSequence)) return { problem: "after_sequence must be a number" };
  const afterSequence = Number(request.afterSequence || "0");
  if (!Number.isSafeInteger(afterSequence)) return { problem: "after_sequence is too large" };
  if (request.durableName !== "" && !WORKER_NAME.test(request.durableName)) {
    return { problem: "durable_name must be 1 to 64 letters, digits, _ or -" };
  }
  const given = [afterSequence > 0 && "after_sequence", request.fromStart && "from_start", request.startTime !== undefined && "start_time"].filter(Boolean);
  if (given.length > 1) return { problem: `give only one of after_sequence, from_start and start_time (got ${given.join(", ")})` };
  let start: StartPosition = { kind: "new" };
  if (afterSequence > 0) start = { kind: "sequence", sequence: afterSequence + 1 };
  else if (request.fromStart) start = { kind: "all" };
  else if (request.startTime !== undefined) {
    if (Number.isNaN(request.startTime.getTime())) return { problem: "start_time is not a valid time" };
    start = { kind: "time", time: request.startTime };
  }
  return { filter, start, afterSequence, durableName: request.durableName };
}

/** The JetStream filter subject for the name patterns: one pattern maps onto a subject, several are filtered here. */
export function filterSubject(names: readonly string[]): string {
  const [only] = names;
  return names.length === 1 && only !== undefined ? subjects.eventFilter(only) : subjects.eventsAll;
}
