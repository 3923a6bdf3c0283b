/**
 * What @postern/hostlist reports. The library does not log and owns no metrics registry: the
 * Redis adapter calls the injected `onLookup` once per query and `onServerState` when a
 * server connects or drops; services turn these into metrics (the names below) and log lines.
 */
import type { LookupCommand } from "./items";

export const LookupOutcome = {
  /** SISMEMBER 1, a non-empty HGET/GET value, a non-empty set */
  Found: "found",
  /** SISMEMBER 0, nil or "", an empty set */
  Empty: "empty",
  /** no server answered */
  Error: "error",
} as const;
export type LookupOutcome = (typeof LookupOutcome)[keyof typeof LookupOutcome];

/** One lookup, reported after it completes. */
export interface LookupEvent {
  readonly command: LookupCommand;
  /** the server that answered ("127.0.0.1:6379/0", also on cache hits); null when none did */
  readonly server: string | null;
  readonly outcome: LookupOutcome;
  /** wall time in milliseconds, all servers tried included */
  readonly ms: number;
  readonly cached: boolean;
  /** servers that failed before one answered (or all of them, on error) */
  readonly failures: number;
}

/** A Redis connection came up or went down (reported once per change). */
export interface ServerStateEvent {
  readonly server: string;
  readonly state: "up" | "down";
  /** why it went down */
  readonly reason?: string;
}

/** Metric and log event names services should use for these events. */
export const hostlistMetricNames = {
  /** counter; labels: command, outcome, cached */
  lookups: "postern_hostlist_lookups_total",
  /** histogram of `ms / 1000` for non-cached lookups; labels: command, outcome */
  duration: "postern_hostlist_lookup_duration_seconds",
  /** gauge 1/0 per server; label: server */
  serverUp: "postern_hostlist_redis_server_up",
} as const;

export const hostlistLogEvents = {
  /** ServerStateEvent with state "down" */
  redisDown: "redis.down",
  /** ServerStateEvent with state "up" */
  redisUp: "redis.up",
  /** a list evaluation deferred: { item, err } */
  lookupDefer: "hostlist.defer",
} as const;
