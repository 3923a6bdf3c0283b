/**
 * Durable subscriptions: one durable JetStream consumer per durable_name on
 * EVENTS, explicit acks sent as each event is written to the client's
 * connection, max_ack_pending bounding what is in flight. The consumer's
 * description holds the subscription's filter, so a resume applies the same
 * filter. A resume repositions the consumer (delete and create at a start
 * sequence) whenever it would otherwise deliver out of order or skip:
 * after_sequence from the client wins; else the consumer's ack floor.
 */
import { AckPolicy, type ConsumerConfig, type ConsumerInfo, DeliverPolicy } from "@nats-io/jetstream";
import { type Bus, streamNames } from "@postern/bus";
import { DurableFilterMismatch } from "./errors";
import { canonicalFilter, type EventFilter, isEmptyFilter, sameFilter } from "./filters";
import { consumerInfo, nanos } from "./jetstream";
import { durableNames } from "./names";
import { filterSubject, type ParsedSubscribe, type StartPosition } from "./subscribe-request";

export interface DurableOptions {
  maxInFlight: number;
  idleSeconds: number;
  ackWaitMs: number;
}

const DESCRIPTION_PREFIX = "postern subscription ";
const MAX_DESCRIPTION = 4096;

export function describeFilter(filter: EventFilter): string {
  return DESCRIPTION_PREFIX + JSON.stringify(canonicalFilter(filter));
}

export function storedFilter(info: ConsumerInfo): EventFilter | undefined {
  const description = info.config.description ?? "";
  if (!description.startsWith(DESCRIPTION_PREFIX)) return undefined;
  try {
    const parsed = JSON.parse(description.slice(DESCRIPTION_PREFIX.length)) as EventFilter;
    return Array.isArray(parsed.names) && Array.isArray(parsed.senderDomains) && Array.isArray(parsed.recipientDomains) && typeof parsed.messageId === "string" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** "new" is pinned to a sequence at creation, so re-creating the consumer later does not skip events stored meanwhile. */
async function pinStart(bus: Bus, start: StartPosition): Promise<StartPosition> {
  if (start.kind !== "new") return start;
  const info = await bus.jsm.streams.info(streamNames.events);
  return { kind: "sequence", sequence: info.state.last_seq + 1 };
}

function deliverFields(start: StartPosition): Partial<ConsumerConfig> {
  switch (start.kind) {
    case "all":
      return { deliver_policy: DeliverPolicy.All };
    case "time":
      return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() };
    case "sequence":
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.sequence };
    default:
      return { deliver_policy: DeliverPolicy.New };
  }
}

function startOf(info: ConsumerInfo): StartPosition {
  const c = info.config;
  if (c.deliver_policy === DeliverPolicy.StartSequence && c.opt_start_seq !== undefined) return { kind: "sequence", sequence: c.opt_start_seq };
  if (c.deliver_policy === DeliverPolicy.StartTime && c.opt_start_time !== undefined) return { kind: "time", time: new Date(c.opt_start_time) };
  if (c.deliver_policy === DeliverPolicy.All) return { kind: "all" };
  return { kind: "new" };
}

async function create(bus: Bus, name: string, filter: EventFilter, start: StartPosition, opts: DurableOptions): Promise<void> {
  await bus.jsm.consumers.add(streamNames.events, {
    durable_name: name,
    description: describeFilter(filter),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(opts.ackWaitMs),
    max_ack_pending: opts.maxInFlight,
    max_deliver: -1,
    inactive_threshold: nanos(opts.idleSeconds * 1000),
    filter_subject: filterSubject(filter.names),
    ...deliverFields(await pinStart(bus, start)),
  });
}

export interface OpenedDurable {
  consumerName: string;
  filter: EventFilter;
  /** Events up to this sequence were already processed by the client: acknowledge them without sending. */
  skipThrough: number;
  /** Whether the consumer was created, kept as it was, or re-created at a new position. */
  how: "created" | "resumed" | "repositioned";
}

/** Creates the subscription's consumer, or positions an existing one for an in-order resume. */
export async function openDurable(bus: Bus, request: ParsedSubscribe, opts: DurableOptions): Promise<OpenedDurable> {
  const name = durableNames.subscription(request.durableName);
  if (describeFilter(request.filter).length > MAX_DESCRIPTION) throw new RangeError("the subscription's filters are too long (4 KiB at most)");
  const info = await consumerInfo(bus, streamNames.events, name);
  if (info === undefined) {
    await create(bus, name, request.filter, request.start, opts);
    return { consumerName: name, filter: request.filter, skipThrough: 0, how: "created" };
  }
  const stored = storedFilter(info) ?? request.filter;
  if (!isEmptyFilter(request.filter) && !sameFilter(stored, request.filter)) throw new DurableFilterMismatch(request.durableName);
  const floor = info.ack_floor.stream_seq;
  const after = request.afterSequence;
  const inOrder = info.num_ack_pending === 0 && info.num_redelivered === 0 && (after === 0 || after === floor);
  if (inOrder) {
    if (info.config.max_ack_pending !== opts.maxInFlight) await bus.jsm.consumers.update(streamNames.events, name, { max_ack_pending: opts.maxInFlight });
    return { consumerName: name, filter: stored, skipThrough: after, how: "resumed" };
  }
  const start: StartPosition = after > 0 ? { kind: "sequence", sequence: after + 1 } : floor > 0 ? { kind: "sequence", sequence: floor + 1 } : startOf(info);
  await bus.jsm.consumers.delete(streamNames.events, name);
  await create(bus, name, stored, start, opts);
  return { consumerName: name, filter: stored, skipThrough: after, how: "repositioned" };
}
