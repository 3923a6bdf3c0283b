import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Event } from "@postern/proto";
import { codecs } from "./codec";
import { type Bus } from "./connect";
import { InvalidEventError, PublishError } from "./errors";
import { streamNames, subjects } from "./subjects";

/** os.hostname() is a system call; the edge makes several events per SMTP connection. Read once. */
let host: string | undefined;

/** An event with `name`; id (random UUID), time (now) and host (os.hostname()) are filled in when missing. */
export function newEvent(name: string, fields?: Partial<Event>): Event {
  subjects.event(name); // throws InvalidEventError for a name that cannot become a subject
  const event = Event.fromPartial({ ...fields, name });
  if (event.id === "") event.id = randomUUID();
  if (event.time === undefined) event.time = new Date();
  if (event.host === "") event.host = host ??= hostname();
  return event;
}

/**
 * Publishes `event` to stream EVENTS on subjects.event(event.name) with msgID = event.id, so
 * JetStream drops a re-publish within the duplicate window. Resolves once the stream has stored it.
 * Throws InvalidEventError (no id, bad name) or PublishError.
 */
export async function publishEvent(bus: Bus, event: Event): Promise<{ sequence: number; duplicate: boolean }> {
  if (event.id === "") throw new InvalidEventError(`event ${event.name} has no id (use newEvent)`);
  const subject = subjects.event(event.name);
  try {
    const ack = await bus.js.publish(subject, codecs.event.encode(event), {
      msgID: event.id,
      expect: { streamName: streamNames.events },
    });
    return { sequence: ack.seq, duplicate: ack.duplicate };
  } catch (err) {
    throw new PublishError(subject, { cause: err });
  }
}
