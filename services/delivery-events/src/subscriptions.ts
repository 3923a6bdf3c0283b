import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Gauge } from "prom-client";
import { DeliverPolicy, type OrderedConsumerOptions } from "@nats-io/jetstream";
import { type Bus, codecs, streamNames, subjects } from "@postern/bus";
import type { EventsServer, SubscribeRequest } from "@postern/proto";
import { isValidEventPattern, matchesEventPattern } from "./event-names";

export interface SubscriptionDeps {
  bus: Bus;
  logger: Logger;
  maxSubscribers: number;
  active: Gauge;
  /** Aborted at shutdown: every open stream is ended so the gRPC server can close. */
  stopping: AbortSignal;
}

/** Ends a server stream with a gRPC status (grpc-js sends it when the call emits "error"). */
function fail(call: grpc.ServerWritableStream<SubscribeRequest, unknown>, code: grpc.status, details: string): void {
  const status: Partial<grpc.StatusObject> = { code, details };
  call.emit("error", status);
}

export function consumerOptions(request: SubscribeRequest): Partial<OrderedConsumerOptions> {
  const [only] = request.names;
  const filter = request.names.length === 1 && only !== undefined ? subjects.eventFilter(only) : subjects.eventsAll;
  const after = Number(request.afterSequence || "0");
  if (after > 0) return { filter_subjects: filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 };
  if (request.fromStart) return { filter_subjects: filter, deliver_policy: DeliverPolicy.All };
  return { filter_subjects: filter, deliver_policy: DeliverPolicy.New };
}

/**
 * Events.Subscribe: an ordered JetStream consumer per stream, so a client
 * resumes exactly after the last sequence it saw (after_sequence).
 */
export function createEventsServer(deps: SubscriptionDeps): EventsServer {
  let open = 0;
  return {
    subscribe(call) {
      const request = call.request;
      const bad = request.names.find((name) => !isValidEventPattern(name));
      if (bad !== undefined) {
        fail(call, grpc.status.INVALID_ARGUMENT, `invalid event pattern ${JSON.stringify(bad)}`);
        return;
      }
      if (!/^\d*$/.test(request.afterSequence)) {
        fail(call, grpc.status.INVALID_ARGUMENT, "after_sequence must be a number");
        return;
      }
      if (open >= deps.maxSubscribers) {
        fail(call, grpc.status.RESOURCE_EXHAUSTED, "too many subscribers");
        return;
      }
      open++;
      deps.active.inc();
      streamEvents(deps, call)
        .catch((err: unknown) => {
          deps.logger.warn({ err }, "event subscription failed");
          if (!call.destroyed) fail(call, grpc.status.UNAVAILABLE, "event stream unavailable");
        })
        .finally(() => {
          open--;
          deps.active.dec();
        });
    },
  };
}

async function streamEvents(deps: SubscriptionDeps, call: grpc.ServerWritableStream<SubscribeRequest, unknown>): Promise<void> {
  const request = call.request;
  const consumer = await deps.bus.js.consumers.get(streamNames.events, consumerOptions(request));
  const messages = await consumer.consume();
  const stop = (): void => void messages.close();
  call.on("cancelled", stop);
  call.on("close", stop);
  deps.stopping.addEventListener("abort", stop, { once: true });
  try {
    if (call.cancelled || deps.stopping.aborted) return;
    for await (const message of messages) {
      let event;
      try {
        event = codecs.event.decode(message.data);
      } catch (err) {
        deps.logger.warn({ err, seq: message.seq }, "undecodable event skipped");
        continue;
      }
      if (request.names.length > 1 && !request.names.some((pattern) => matchesEventPattern(pattern, event.name))) continue;
      if (request.messageId && event.messageId !== request.messageId) continue;
      event.sequence = String(message.seq);
      if (!call.write(event)) await once(call, "drain");
    }
  } finally {
    deps.stopping.removeEventListener("abort", stop);
    await messages.close();
    if (!call.destroyed && !call.writableEnded) call.end();
  }
}
