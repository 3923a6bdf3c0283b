import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Counter } from "prom-client";
import { type Bus, newEvent, publishEvent } from "@postern/bus";
import type { Event, OutcomesServer, RecordResponse, RecordResult } from "@postern/proto";
import { logEvents } from "./diagnostics";
import { isValidEventName } from "./event-names";

export interface OutcomesDeps {
  bus: Bus;
  logger: Logger;
  recorded: Counter<"name" | "result">;
}

/** The most events one Record call may carry (gRPC's 4 MiB message limit holds far more; this bounds one call's work). */
export const MAX_BATCH = 1000;

const invalidName = (name: string | undefined): string => `event.name must be a colon-separated lower-case name, got ${JSON.stringify(name ?? "")}`;

/**
 * Outcomes.Record: the one door through which workers store events. The
 * event is written to JetStream EVENTS with its id as msgID, so a worker that
 * retries after a lost reply does not store it twice.
 *
 * A batch (RecordRequest.events) saves a gRPC call per event: its events are published
 * at once, in order, on the one NATS connection (their PubAcks come back pipelined), and
 * each gets its own result, so the caller knows exactly which ones to send again.
 */
export function createOutcomesServer({ bus, logger, recorded }: OutcomesDeps): OutcomesServer {
  /** Stores one event; never rejects. */
  const store = (given: Event): Promise<RecordResult> => {
    if (!isValidEventName(given.name)) {
      recorded.inc({ name: "invalid", result: "invalid" });
      return Promise.resolve({ eventId: given.id, sequence: "0", duplicate: false, code: grpc.status.INVALID_ARGUMENT, error: invalidName(given.name) });
    }
    // A worker's event usually comes complete (id, time, host): then it is stored as
    // received, without newEvent's copy of every field.
    const event = given.id !== "" && given.time !== undefined && given.host !== "" ? given : newEvent(given.name, given);
    return publishEvent(bus, event).then(
      ({ sequence, duplicate }): RecordResult => {
        recorded.inc({ name: event.name, result: duplicate ? "duplicate" : "stored" });
        return { eventId: event.id, sequence: String(sequence), duplicate, code: grpc.status.OK, error: "" };
      },
      (err: unknown): RecordResult => {
        recorded.inc({ name: event.name, result: "error" });
        logger.warn({ err, event: logEvents.notStored, event_id: event.id, name: event.name }, "event not stored");
        return { eventId: event.id, sequence: "0", duplicate: false, code: grpc.status.UNAVAILABLE, error: "event store unavailable, retry" };
      },
    );
  };

  return {
    record(call, callback) {
      const { event: given, events } = call.request;
      if (events.length > 0) {
        if (given !== undefined) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: "set either event or events, not both" });
          return;
        }
        if (events.length > MAX_BATCH) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: `at most ${MAX_BATCH} events per call, got ${events.length}` });
          return;
        }
        // store() publishes synchronously, so the events reach NATS (and EVENTS) in this order.
        Promise.all(events.map(store)).then(
          (results) => callback(null, { eventId: "", sequence: "0", duplicate: false, results }),
          (err: unknown) => callback({ code: grpc.status.INTERNAL, details: String(err) }),
        );
        return;
      }
      if (!given || !isValidEventName(given.name)) {
        recorded.inc({ name: "invalid", result: "invalid" });
        callback({ code: grpc.status.INVALID_ARGUMENT, details: invalidName(given?.name) });
        return;
      }
      void store(given).then((r) => {
        if (r.code !== (grpc.status.OK as number)) {
          callback({ code: r.code, details: r.error });
          return;
        }
        const response: RecordResponse = { eventId: r.eventId, sequence: r.sequence, duplicate: r.duplicate, results: [] };
        callback(null, response);
      });
    },
  };
}
