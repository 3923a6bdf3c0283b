import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Gauge } from "prom-client";
import { DeliverPolicy, type OrderedConsumerOptions } from "@nats-io/jetstream";
import { type Bus, codecs, streamNames, subjects } from "@postern/bus";
import type { EventsServer, SubscribeRequest } from "@postern/proto";
import { isValidEventPattern, matchesEventPattern, patternToSubject } from "./event-names";

export interface SubscriptionDeps {
  bus: Bus;
  logger: Logger;
  maxSubscribers: number;
  active: Gauge;
  /** Aborted at shutdown: every open stream is ended so the gRPC server can close. */
  stopping: AbortSignal;
}

export function consumerOptions(request: SubscribeRequest): Partial<OrderedConsumerOptions> {
  const [only] = request.names;
  const filter = request.names.length === 1 && only !== undefined ? patternToSubject(only) : subjects.eventsAll;
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
        call.destroy(Object.assign(new Error(`invalid event pattern ${JSON.stringify(bad)}`), { code: grpc.status.INVALID_ARGUMENT }));
        return;
      }
      if (!/^\d*$/.test(request.afterSequence)) {
        call.destroy(Object.assign(new Error("after_sequence must be a number"), { code: grpc.status.INVALID_ARGUMENT }));
        return;
      }
      if (open >= deps.maxSubscribers) {
        call.destroy(Object.assign(new Error("too many subscribers"), { code: grpc.status.RESOURCE_EXHAUSTED }));
        return;
      }
      open++;
      deps.active.inc();
      streamEvents(deps, call)
        .catch((err: unknown) => {
          deps.logger.warn({ err }, "event subscription failed");
          if (!call.destroyed) call.destroy(Object.assign(new Error("event stream unavailable"), { code: grpc.status.UNAVAILABLE }));
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
