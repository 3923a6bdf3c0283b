import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Gauge } from "prom-client";
import { type ConsumerMessages, DeliverPolicy, type OrderedConsumerOptions } from "@nats-io/jetstream";
import { type Bus, codecs, streamNames } from "@postern/bus";
import type { Event, EventsServer, SubscribeRequest } from "@postern/proto";
import { logEvents } from "./diagnostics";
import { openDurable } from "./durable";
import { DurableFilterMismatch } from "./errors";
import { type EventFilter, matchesFilter } from "./filters";
import { filterSubject, type ParsedSubscribe, parseSubscribe } from "./subscribe-request";

export interface SubscriptionDeps {
  bus: Bus;
  logger: Logger;
  maxSubscribers: number;
  /** Durable subscriptions: max_ack_pending, and how many events are fetched ahead. */
  maxInFlight: number;
  durableIdleSeconds: number;
  active: Gauge;
  /** Aborted at shutdown: every open stream is ended so the gRPC server can close. */
  stopping: AbortSignal;
}

type Call = grpc.ServerWritableStream<SubscribeRequest, Event>;

/** Ends a server stream with a gRPC status (grpc-js sends it when the call emits "error"). */
function fail(call: Call, code: grpc.status, details: string): void {
  const status: Partial<grpc.StatusObject> = { code, details };
  call.emit("error", status);
}

export function consumerOptions(parsed: ParsedSubscribe): Partial<OrderedConsumerOptions> {
  const filter_subjects = filterSubject(parsed.filter.names);
  switch (parsed.start.kind) {
    case "sequence":
      return { filter_subjects, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: parsed.start.sequence };
    case "time":
      return { filter_subjects, deliver_policy: DeliverPolicy.StartTime, opt_start_time: parsed.start.time.toISOString() };
    case "all":
      return { filter_subjects, deliver_policy: DeliverPolicy.All };
    default:
      return { filter_subjects, deliver_policy: DeliverPolicy.New };
  }
}

/** Resolves when the call can take more data, or has gone away. */
function writable(call: Call): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      for (const event of ["drain", "close", "cancelled", "error"]) call.off(event, done);
      resolve();
    };
    for (const event of ["drain", "close", "cancelled", "error"]) call.once(event, done);
  });
}

const gone = (call: Call): boolean => call.cancelled || call.destroyed || call.writableEnded;

/**
 * Writes matching events in sequence order. With `ack`, each message is
 * acknowledged once grpc-js has written it to the connection, and anything at
 * or below the last sequence sent (a redelivery) is acknowledged unsent.
 */
async function pump(call: Call, messages: ConsumerMessages, filter: EventFilter, opts: { ack: boolean; skipThrough: number; logger: Logger }): Promise<void> {
  let last = opts.skipThrough;
  for await (const message of messages) {
    if (gone(call)) break;
    if (message.seq <= last) {
      if (opts.ack) message.ack();
      continue;
    }
    let event: Event;
    try {
      event = codecs.event.decode(message.data);
    } catch (err) {
      opts.logger.warn({ err, event: logEvents.undecodable, seq: message.seq }, "undecodable event skipped");
      if (opts.ack) message.ack();
      continue;
    }
    last = message.seq;
    if (!matchesFilter(filter, event)) {
      if (opts.ack) message.ack();
      continue;
    }
    event.sequence = String(message.seq);
    const more = call.write(event, opts.ack ? (err?: Error | null) => (err ? undefined : message.ack()) : undefined);
    if (!more) await writable(call);
  }
}

/**
 * Events.Subscribe: an ordered JetStream consumer per stream (resume with
 * after_sequence), or with durable_name a durable consumer that keeps the
 * position while the client is away. A second stream for a durable name that
 * is open on this instance takes it over (the first ends with ABORTED).
 */
export function createEventsServer(deps: SubscriptionDeps): EventsServer {
  let open = 0;
  const durables = new Map<string, { takeOver(): void; done: Promise<void> }>();

  async function stream(call: Call, parsed: ParsedSubscribe): Promise<void> {
    let messages: ConsumerMessages;
    let filter = parsed.filter;
    let skipThrough = 0;
    let release = (): void => undefined;
    if (parsed.durableName === "") {
      const consumer = await deps.bus.js.consumers.get(streamNames.events, consumerOptions(parsed));
      messages = await consumer.consume();
    } else {
      const previous = durables.get(parsed.durableName);
      if (previous) {
        previous.takeOver();
        await previous.done;
      }
      let finished = (): void => undefined;
      const entry = { takeOver: () => fail(call, grpc.status.ABORTED, "a newer stream took over this durable subscription"), done: new Promise<void>((r) => (finished = r)) };
      durables.set(parsed.durableName, entry);
      release = () => {
        if (durables.get(parsed.durableName) === entry) durables.delete(parsed.durableName);
        finished();
      };
      try {
        const opened = await openDurable(deps.bus, parsed, { maxInFlight: deps.maxInFlight, idleSeconds: deps.durableIdleSeconds, ackWaitMs: 60_000 });
        deps.logger.info({ event: logEvents.durableOpened, durable: parsed.durableName, how: opened.how, after: parsed.afterSequence }, "durable subscription opened");
        ({ filter, skipThrough } = opened);
        const consumer = await deps.bus.js.consumers.get(streamNames.events, opened.consumerName);
        messages = await consumer.consume({ max_messages: Math.min(deps.maxInFlight, 256) });
      } catch (err) {
        release();
        throw err;
      }
    }
    const stop = (): void => void messages.close();
    call.on("cancelled", stop);
    call.on("close", stop);
    call.on("error", stop);
    deps.stopping.addEventListener("abort", stop, { once: true });
    try {
      if (gone(call) || deps.stopping.aborted) return;
      await pump(call, messages, filter, { ack: parsed.durableName !== "", skipThrough, logger: deps.logger });
    } finally {
      deps.stopping.removeEventListener("abort", stop);
      await messages.close();
      // Acks are sent without waiting; a round trip makes them reach the server before a resume reads the consumer.
      if (parsed.durableName !== "") await deps.bus.nc.flush().catch(() => undefined);
      release();
      if (!gone(call)) call.end();
    }
  }

  return {
    subscribe(call) {
      const parsed = parseSubscribe(call.request);
      if ("problem" in parsed) {
        fail(call, grpc.status.INVALID_ARGUMENT, parsed.problem);
        return;
      }
      if (open >= deps.maxSubscribers) {
        fail(call, grpc.status.RESOURCE_EXHAUSTED, "too many subscribers");
        return;
      }
      open++;
      deps.active.inc();
      stream(call, parsed)
        .catch((err: unknown) => {
          if (gone(call)) return;
          if (err instanceof DurableFilterMismatch) return fail(call, grpc.status.FAILED_PRECONDITION, err.message);
          if (err instanceof RangeError) return fail(call, grpc.status.INVALID_ARGUMENT, err.message);
          deps.logger.warn({ err, event: logEvents.subscriptionFailed }, "event subscription failed");
          fail(call, grpc.status.UNAVAILABLE, "event stream unavailable");
        })
        .finally(() => {
          open--;
          deps.active.dec();
        });
    },
  };
}
