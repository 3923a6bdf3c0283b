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
import { type Bus, subjects } from "@postern/bus";
import { type Logger } from "pino";
import { logEvents } from "./diagnostics";

export type ConnectionEventName = "tcp:connect" | "smtp:connect" | "smtp:ehlo" | "tcp:close";

/** Publishes one connection event; never throws, never waits. */
export type ConnectionEvents = (name: ConnectionEventName, attributes: Record<string, string>) => void;

export function busConnectionEvents(bus: Bus, logger: Logger): ConnectionEvents {
  // what newEvent() does, minus its per-call work: the subject (and name check) once per name, the host name once
  const subjectOf = new Map<string, string>();
  const host = hostname();
  let failures = 0;
  return (name, attributes) => {
    try {
      let subject = subjectOf.get(name);
      if (subject === undefined) subjectOf.set(name, (subject = subjects.event(name)));
      bus.nc.publish(subject, encodeConnectionEvent(randomUUID(), name, Date.now(), host, attributes));
    } catch (err) {
      // a closed connection throws on publish; log the first failures only, not one line per connection
      if (failures++ < 10) logger.warn({ event: logEvents.eventFailed, name, err }, `${name} event not published`);
    }
  };
}

/** octets of a protobuf varint (non-negative integers up to 2^53) */
function varintSize(n: number): number {
  let size = 1;
  for (; n >= 0x80; n = Math.floor(n / 0x80)) size++;
  return size;
}

function putVarint(buf: Buffer, pos: number, n: number): number {
  for (; n >= 0x80; n = Math.floor(n / 0x80)) buf[pos++] = (n % 0x80) | 0x80;
  buf[pos++] = n;
  return pos;
}

/** UTF-8 length; ASCII (IPs, ports, host names) counted in JS, which is cheaper than a call into Buffer for short strings */
function utf8Length(value: string): number {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) return Buffer.byteLength(value);
  return value.length;
}

/** a length-delimited string field whose tag is one octet: tag, length, UTF-8 */
function stringFieldSize(value: string): number {
  const len = utf8Length(value);
  return 1 + varintSize(len) + len;
}

function putStringField(buf: Buffer, pos: number, tag: number, value: string): number {
  pos = putVarint(buf, pos, tag);
  const len = utf8Length(value);
  pos = putVarint(buf, pos, len);
  if (len !== value.length) return pos + buf.write(value, pos, "utf8");
  for (let i = 0; i < len; i++) buf[pos++] = value.charCodeAt(i);
  return pos;
}

/**
 * The bytes Event.encode makes of { id, name, time: new Date(timeMs), host, attributes } (every other field at its
 * default), written into one buffer: the generated encoder forks a writer per attribute and for the timestamp, and
 * that made these four events per connection a visible part of the edge's CPU. Field numbers are postern.v1.Event's
 * (events.proto); events.test.ts checks the bytes against Event.encode. timeMs: milliseconds since the epoch, >= 0.
 */
export function encodeConnectionEvent(id: string, name: string, timeMs: number, host: string, attributes: Record<string, string>): Uint8Array {
  // google.protobuf.Timestamp: seconds (1, varint) and nanos (2, varint), each omitted when 0
  const seconds = Math.floor(timeMs / 1000);
  const nanos = (timeMs % 1000) * 1_000_000;
  const timeSize = (seconds === 0 ? 0 : 1 + varintSize(seconds)) + (nanos === 0 ? 0 : 1 + varintSize(nanos));
  const entries = Object.entries(attributes);
  // map entries: key (1) and value (2), each omitted when empty, as Event_AttributesEntry.encode does
  const entrySizes = entries.map(([k, v]) => (k === "" ? 0 : stringFieldSize(k)) + (v === "" ? 0 : stringFieldSize(v)));
  let size = (id === "" ? 0 : stringFieldSize(id)) + (name === "" ? 0 : stringFieldSize(name)) + 1 + varintSize(timeSize) + timeSize;
  if (host !== "") size += 1 + stringFieldSize(host); // field 21: a two-octet tag
  for (const s of entrySizes) size += 2 + varintSize(s) + s; // field 30: a two-octet tag
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (id !== "") pos = putStringField(buf, pos, (1 << 3) | 2, id);
  if (name !== "") pos = putStringField(buf, pos, (2 << 3) | 2, name);
  pos = putVarint(buf, pos, (3 << 3) | 2);
  pos = putVarint(buf, pos, timeSize);
  if (seconds !== 0) pos = putVarint(buf, putVarint(buf, pos, (1 << 3) | 0), seconds);
  if (nanos !== 0) pos = putVarint(buf, putVarint(buf, pos, (2 << 3) | 0), nanos);
  if (host !== "") pos = putStringField(buf, pos, (21 << 3) | 2, host);
  entries.forEach(([k, v], i) => {
    pos = putVarint(buf, pos, (30 << 3) | 2);
    pos = putVarint(buf, pos, entrySizes[i] ?? 0);
    if (k !== "") pos = putStringField(buf, pos, (1 << 3) | 2, k);
    if (v !== "") pos = putStringField(buf, pos, (2 << 3) | 2, v);
  });
  return buf;
}
