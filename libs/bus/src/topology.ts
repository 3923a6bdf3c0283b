import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  type StreamConfig,
  type StreamInfo,
  type StreamUpdateConfig,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { type Bus } from "./connect";
import { type JetStreamConfig } from "./config";
import { TopologyError } from "./errors";
import { bucketNames, kvBucketNames, kvStreamName, objectStoreStreamName, streamNames, subjects } from "./subjects";

/** JetStream's "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;
/** "subjects overlap with an existing stream": what nats-server 2.9 answers the loser of two identical creates. */
const STREAM_SUBJECT_OVERLAP = 10065;

/**
 * The error a stream create gets when another process created the stream at the same moment:
 * "name in use" (a differing configuration) or, from nats-server 2.9, "subjects overlap". The
 * caller must still look the stream up: an overlap with some other stream is a real error.
 */
export function isCreateRace(err: unknown): boolean {
  return isApiError(err, STREAM_NAME_IN_USE) || isApiError(err, STREAM_SUBJECT_OVERLAP);
}
const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

const nanos = (ms: number): number => ms * 1_000_000;

/** Fields fixed at creation: a difference is reported, never "fixed" by deleting data. */
type Immutable = Pick<StreamConfig, "storage" | "retention">;
/** Fields ensureTopology owns and updates in place. */
type Managed = Partial<StreamUpdateConfig>;

export interface StreamPlan {
  name: string;
  immutable: Immutable;
  managed: Managed;
}

/** De-duplication window: two minutes, but never longer than max_age (JetStream refuses that). */
function duplicateWindow(maxAgeSeconds: number): number {
  const ms = maxAgeSeconds > 0 ? Math.min(DUPLICATE_WINDOW_MS, maxAgeSeconds * 1000) : DUPLICATE_WINDOW_MS;
  return nanos(ms);
}

/** The streams MAIL and EVENTS as ensureTopology creates them. */
export function streamPlans(config: JetStreamConfig): StreamPlan[] {
  const { mail, events } = config;
  return [
    {
      name: streamNames.mail,
      immutable: { storage: mail.storage, retention: RetentionPolicy.Workqueue },
      managed: {
        subjects: [subjects.mailAll],
        num_replicas: mail.replicas,
        max_age: nanos(mail.max_age_seconds * 1000),
        max_bytes: mail.max_bytes,
        // Full queue: refuse new mail (the edge answers 4xx) rather than drop accepted mail.
        discard: DiscardPolicy.New,
        duplicate_window: duplicateWindow(mail.max_age_seconds),
      },
    },
    {
      name: streamNames.events,
      immutable: { storage: events.storage, retention: RetentionPolicy.Limits },
      managed: {
        subjects: [subjects.eventsAll],
        num_replicas: events.replicas,
        max_age: nanos(events.max_age_seconds * 1000),
        max_bytes: events.max_bytes,
        discard: DiscardPolicy.Old,
        duplicate_window: duplicateWindow(events.max_age_seconds),
      },
    },
  ];
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

async function streamInfo(bus: Bus, name: string): Promise<StreamInfo | undefined> {
  try {
    return await bus.jsm.streams.info(name);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw err;
  }
}

/** Keys of `managed` whose value differs from the stream's current configuration. */
export function changedFields(current: Partial<StreamConfig>, managed: Managed): string[] {
  return Object.entries(managed)
    .filter(([key, want]) => JSON.stringify(current[key as keyof StreamConfig]) !== JSON.stringify(want))
    .map(([key]) => key);
}

/** Brings an existing stream to `plan`; refuses when an immutable field differs. */
async function reconcile(bus: Bus, plan: StreamPlan, info: StreamInfo): Promise<void> {
  for (const [key, want] of Object.entries(plan.immutable)) {
    const have: unknown = info.config[key as keyof StreamConfig];
    if (have !== want) {
      throw new TopologyError(
        plan.name,
        `${key} is ${JSON.stringify(have)} but the configuration asks for ${JSON.stringify(want)}; ` +
          `${key} cannot be changed on an existing stream (move the data to a new stream, or delete this one)`,
      );
    }
  }
  if (changedFields(info.config, plan.managed).length === 0) return;
  await bus.jsm.streams.update(plan.name, plan.managed);
}

/** Creates the stream, or updates it to the plan. Safe to run from several processes at once. */
async function ensureStream(bus: Bus, plan: StreamPlan): Promise<void> {
  try {
    let info = await streamInfo(bus, plan.name);
    if (info === undefined) {
      try {
        await bus.jsm.streams.add({ name: plan.name, ...plan.immutable, ...plan.managed });
        return;
      } catch (err) {
        // Another process created it first.
        if (!isCreateRace(err)) throw err;
        info = await streamInfo(bus, plan.name);
        if (info === undefined) throw err;
      }
    }
    await reconcile(bus, plan, info);
  } catch (err) {
    if (err instanceof TopologyError) throw err;
    throw new TopologyError(plan.name, `cannot create or update stream: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Runs `create` (which makes a KV bucket or object store when it is missing and opens it otherwise),
 * then brings its stream to `plan`. A creation race with a differing configuration is settled by the update.
 */
async function ensureStore(bus: Bus, plan: StreamPlan, create: () => Promise<unknown>): Promise<void> {
  try {
    try {
      await create();
    } catch (err) {
      if (!isCreateRace(err)) throw err;
    }
    const info = await streamInfo(bus, plan.name);
    if (info === undefined) throw new Error("stream vanished after creation");
    await reconcile(bus, plan, info);
  } catch (err) {
    if (err instanceof TopologyError) throw err;
    throw new TopologyError(plan.name, `cannot create or update bucket: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Creates or updates everything Postern keeps in JetStream: streams MAIL (work queue) and
 * EVENTS (limits), KV buckets ocsp-staples, ocsp-certs and delivery-state (history 1),
 * object store spool. Idempotent; several processes may run it at once. Throws TopologyError.
 */
export async function ensureTopology(bus: Bus, config: JetStreamConfig): Promise<void> {
  await Promise.all(streamPlans(config).map((plan) => ensureStream(bus, plan)));

  const kvm = new Kvm(bus.js);
  const { kv, spool } = config;
  await Promise.all(
    kvBucketNames.map((bucket) =>
      ensureStore(
        bus,
        {
          name: kvStreamName(bucket),
          immutable: { storage: kv.storage, retention: RetentionPolicy.Limits },
          managed: { num_replicas: kv.replicas, max_msgs_per_subject: 1 },
        },
        () => kvm.create(bucket, { storage: kv.storage, replicas: kv.replicas, history: 1 }),
      ),
    ),
  );

  const objm = new Objm(bus.js);
  const spoolAge = nanos(spool.ttl_seconds * 1000);
  await ensureStore(
    bus,
    {
      name: objectStoreStreamName(bucketNames.spool),
      immutable: { storage: spool.storage, retention: RetentionPolicy.Limits },
      managed: {
        num_replicas: spool.replicas,
        max_bytes: spool.max_bytes,
        max_age: spoolAge,
        duplicate_window: duplicateWindow(spool.ttl_seconds),
      },
    },
    () =>
      objm.create(bucketNames.spool, {
        storage: spool.storage,
        replicas: spool.replicas,
        max_bytes: spool.max_bytes,
        ttl: spoolAge,
      }),
  );
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
