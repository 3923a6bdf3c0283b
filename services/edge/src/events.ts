/**
 * Connection events (DESIGN.md "Events", Exim's event_action names):
 * tcp:connect, smtp:connect, smtp:ehlo and tcp:close.
 *
 * Why core publishes: these fire several times per connection, on the hot
 * path of every session, and nothing in the session depends on them being
 * stored. A JetStream publish costs a request/reply round trip and a promise
 * per event (and would hold memory per connection while NATS is slow); a core
 * publish is one write into nats.js's outbound buffer, and stream EVENTS
 * captures it all the same (its subjects cover postern.event.>). The price:
 * no acknowledgement, so an event published while NATS is unreachable may be
 * lost (nats.js keeps a bounded buffer across a reconnect). Events a consumer
 * must not miss stay JetStream publishes with an awaited PubAck off the
 * session's path: msg:received (accept.ts), auth:fail and msg:rcpt:refused
 * (service.ts). connection_events: false turns these four off.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type Bus, codecs, subjects } from "@postern/bus";
import { Event } from "@postern/proto";
import { type Logger } from "pino";
import { logEvents } from "./diagnostics";

export type ConnectionEventName = "tcp:connect" | "smtp:connect" | "smtp:ehlo" | "tcp:close";

/** Publishes one connection event; never throws, never waits. */
export type ConnectionEvents = (name: ConnectionEventName, attributes: Record<string, string>) => void;

export function busConnectionEvents(bus: Bus, logger: Logger): ConnectionEvents {
  // what newEvent() does, minus its per-call work: the subject (and name check) once per name; the host name and
  // every other field's default once (Event.fromPartial per event walks each field and copies the attributes)
  const subjectOf = new Map<string, string>();
  const template = Event.fromPartial({ host: hostname() });
  let failures = 0;
  return (name, attributes) => {
    try {
      let subject = subjectOf.get(name);
      if (subject === undefined) subjectOf.set(name, (subject = subjects.event(name)));
      bus.nc.publish(subject, codecs.event.encode({ ...template, id: randomUUID(), name, time: new Date(), attributes }));
    } catch (err) {
      // a closed connection throws on publish; log the first failures only, not one line per connection
      if (failures++ < 10) logger.warn({ event: logEvents.eventFailed, name, err }, `${name} event not published`);
    }
  };
}
