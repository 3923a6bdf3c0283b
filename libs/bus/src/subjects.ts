/**
 * Every NATS name Postern uses, in one place: subjects, JetStream streams and
 * consumers, queue groups, KV buckets and object stores.
 */
import { InvalidEventError } from "./errors";

const EVENT_PREFIX = "postern.event.";
/** One colon-separated part of an event name ("msg", "rcpt", "host", "defer"). */
const EVENT_TOKEN = /^[A-Za-z0-9_-]+$/;

function eventTokens(name: string): string[] {
  if (name.length === 0 || name.length > 200) {
    throw new InvalidEventError(`invalid event name (length ${name.length}); expected parts like "msg:delivery"`);
  }
  return name.split(":");
}

/** "msg:delivery" -> "postern.event.msg.delivery"; throws InvalidEventError when a part is empty or holds . * > or spaces. */
function eventSubject(name: string): string {
  const tokens = eventTokens(name);
  if (!tokens.every((t) => EVENT_TOKEN.test(t))) {
    throw new InvalidEventError(`invalid event name ${JSON.stringify(name)}: parts may hold only letters, digits, "_" and "-"`);
  }
  return EVENT_PREFIX + tokens.join(".");
}

/** Like event(), but a part may be "*" (one part) and the last part ">" (the rest): "msg:>" -> "postern.event.msg.>". */
function eventFilter(pattern: string): string {
  const tokens = eventTokens(pattern);
  const ok = tokens.every((t, i) => EVENT_TOKEN.test(t) || t === "*" || (t === ">" && i === tokens.length - 1));
  if (!ok) {
    throw new InvalidEventError(`invalid event pattern ${JSON.stringify(pattern)}: use names, "*" for one part, ">" as the last part`);
  }
  return EVENT_PREFIX + tokens.join(".");
}

export const subjects = {
  /** SpfCheckRequest, core NATS, queue group queueGroups.spf */
  spfCheck: "postern.v1.spf.check",
  /** DmarcCheckRequest, core NATS, queue group queueGroups.dmarc */
  dmarcCheck: "postern.v1.dmarc.check",
  /** OcspWatchRequest, core NATS, queue group queueGroups.ocsp */
  ocspWatch: "postern.v1.ocsp.watch",
  /** MailRecord, JetStream stream MAIL */
  mailQueued: "postern.v1.mail.queued",
  /** Everything stream MAIL holds. */
  mailAll: "postern.v1.mail.>",
  event: eventSubject,
  eventFilter,
  /** Everything stream EVENTS holds. */
  eventsAll: "postern.event.>",
} as const;

export const streamNames = { mail: "MAIL", events: "EVENTS" } as const;
export const consumerNames = { outbound: "outbound" } as const;
export const queueGroups = { spf: "spf", dmarc: "dmarc", ocsp: "ocsp-refresher" } as const;
export const bucketNames = {
  spool: "spool",
  ocspStaples: "ocsp-staples",
  ocspCerts: "ocsp-certs",
  deliveryState: "delivery-state",
} as const;

export type KvBucketName = typeof bucketNames.ocspStaples | typeof bucketNames.ocspCerts | typeof bucketNames.deliveryState;
export const kvBucketNames: readonly KvBucketName[] = [bucketNames.ocspStaples, bucketNames.ocspCerts, bucketNames.deliveryState];

/** Name of the JetStream stream behind a KV bucket (the @nats-io/kv convention). */
export function kvStreamName(bucket: string): string {
  return `KV_${bucket}`;
}

/** Name of the JetStream stream behind an object store (the @nats-io/obj convention). */
export function objectStoreStreamName(bucket: string): string {
  return `OBJ_${bucket}`;
}
