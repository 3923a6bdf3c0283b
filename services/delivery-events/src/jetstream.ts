/**
 * Idempotent set-up of what delivery-events owns in JetStream: the streams
 * EVENTS_DLQ and EVENTS_REPLAY, and durable consumers (created when missing,
 * updated in place when a managed field changed).
 */
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  type StreamConfig,
  StorageType,
} from "@nats-io/jetstream";
import { type Bus, isCreateRace, type NatsStreamConfig } from "@postern/bus";
import { deadLetterStream, dlqSubjects, replayStream } from "./names";

export const nanos = (ms: number): number => ms * 1_000_000;
const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

export function deadLetterStreamConfigs(config: NatsStreamConfig): Array<Partial<StreamConfig> & { name: string }> {
  const common = {
    storage: config.storage === "memory" ? StorageType.Memory : StorageType.File,
    num_replicas: config.replicas,
    max_age: nanos(config.max_age_seconds * 1000),
    max_bytes: config.max_bytes,
    duplicate_window: nanos(config.max_age_seconds > 0 ? Math.min(DUPLICATE_WINDOW_MS, config.max_age_seconds * 1000) : DUPLICATE_WINDOW_MS),
  };
  return [
    { name: deadLetterStream, subjects: [dlqSubjects.deadLetterAll], retention: RetentionPolicy.Limits, ...common },
    { name: replayStream, subjects: [dlqSubjects.replayAll], retention: RetentionPolicy.Workqueue, ...common },
  ];
}

const MANAGED_STREAM_FIELDS = ["subjects", "num_replicas", "max_age", "max_bytes", "duplicate_window"] as const;

/** Creates EVENTS_DLQ and EVENTS_REPLAY, or updates their limits. Safe from several instances at once. */
export async function ensureDeadLetterStreams(bus: Bus, config: NatsStreamConfig): Promise<void> {
  for (const want of deadLetterStreamConfigs(config)) {
    let info;
    try {
      await bus.jsm.streams.add(want);
      continue;
    } catch (err) {
      if (!isCreateRace(err)) throw err;
      // another instance created it at the same moment; an overlap with some other stream stays an error
      info = await bus.jsm.streams.info(want.name).catch(() => undefined);
      if (info === undefined) throw err;
    }
    if (info.config.storage !== want.storage || info.config.retention !== want.retention) {
      throw new Error(`stream ${want.name} exists with storage ${info.config.storage} and retention ${info.config.retention}; delivery-events wants ${want.storage} and ${want.retention}`);
    }
    const changed = MANAGED_STREAM_FIELDS.filter((key) => JSON.stringify(info.config[key]) !== JSON.stringify(want[key]));
    if (changed.length > 0) await bus.jsm.streams.update(want.name, Object.fromEntries(MANAGED_STREAM_FIELDS.map((k) => [k, want[k]])));
  }
}

export async function consumerInfo(bus: Bus, stream: string, name: string): Promise<ConsumerInfo | undefined> {
  try {
    return await bus.jsm.consumers.info(stream, name);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return undefined;
    throw err;
  }
}

/** Fields of a worker consumer that may change with the configuration and are updated in place. */
export interface WorkerConsumer {
  stream: string;
  name: string;
  filterSubject: string;
  ackWaitMs: number;
  maxAckPending: number;
  description: string;
  /** Where a new consumer starts: only events stored from now on, or everything the stream holds. */
  deliver: "new" | "all";
}

/** A durable pull consumer with explicit acks, created when missing, its managed fields updated otherwise. */
export async function ensureWorkerConsumer(bus: Bus, want: WorkerConsumer): Promise<void> {
  const managed = { ack_wait: nanos(want.ackWaitMs), max_ack_pending: want.maxAckPending, description: want.description };
  const info = await consumerInfo(bus, want.stream, want.name);
  if (info === undefined) {
    const config: Partial<ConsumerConfig> = {
      durable_name: want.name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: want.deliver === "new" ? DeliverPolicy.New : DeliverPolicy.All,
      filter_subject: want.filterSubject,
      max_deliver: -1,
      ...managed,
    };
    await bus.jsm.consumers.add(want.stream, config);
    return;
  }
  if (info.config.filter_subject !== want.filterSubject) {
    throw new Error(`consumer ${want.name} on ${want.stream} filters ${info.config.filter_subject ?? "nothing"}, not ${want.filterSubject}; delete it to start over`);
  }
  const changed = (Object.keys(managed) as Array<keyof typeof managed>).some((k) => info.config[k] !== managed[k]);
  if (changed) await bus.jsm.consumers.update(want.stream, want.name, managed);
}
