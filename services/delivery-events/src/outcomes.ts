import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Counter } from "prom-client";
import { type Bus, newEvent, publishEvent } from "@postern/bus";
import type { OutcomesServer, RecordResponse } from "@postern/proto";
import { logEvents } from "./diagnostics";
import { isValidEventName } from "./event-names";

export interface OutcomesDeps {
  bus: Bus;
  logger: Logger;
  recorded: Counter<"name" | "result">;
}

/**
 * Outcomes.Record: the one door through which workers store events. The
 * event is written to JetStream EVENTS with its id as msgID, so a worker that
 * retries after a lost reply does not store it twice.
 */
export function createOutcomesServer({ bus, logger, recorded }: OutcomesDeps): OutcomesServer {
  return {
    record(call, callback) {
      const given = call.request.event;
      if (!given || !isValidEventName(given.name)) {
        recorded.inc({ name: "invalid", result: "invalid" });
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `event.name must be a colon-separated lower-case name, got ${JSON.stringify(given?.name ?? "")}` });
        return;
      }
      const event = newEvent(given.name, given);
      publishEvent(bus, event).then(
        ({ sequence, duplicate }) => {
          recorded.inc({ name: event.name, result: duplicate ? "duplicate" : "stored" });
          const response: RecordResponse = { eventId: event.id, sequence: String(sequence), duplicate };
          callback(null, response);
        },
        (err: unknown) => {
          recorded.inc({ name: event.name, result: "error" });
          logger.warn({ err, event: logEvents.notStored, event_id: event.id, name: event.name }, "event not stored");
          callback({ code: grpc.status.UNAVAILABLE, details: "event store unavailable, retry" });
        },
      );
    },
  };
}
