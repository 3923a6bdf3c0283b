/**
 * What @postern/dns reports. The library does not log and owns no metrics registry: it calls
 * the injected `onQuery` once per resolver call, and services turn the events into metrics
 * (the names below) and log lines.
 */
import type { OutcomeKind, QueryType } from "./types";

/** One resolver call, reported after it completes. */
export interface QueryEvent {
  readonly name: string;
  readonly type: QueryType;
  readonly outcome: OutcomeKind;
  /** The server that gave the outcome ("127.0.0.1:53"), also on cache hits; null when none did. */
  readonly server: string | null;
  /** Wall time of the call in milliseconds, retries included. */
  readonly ms: number;
  readonly cached: boolean;
  /** Joined an identical query already in flight (no packet of its own). */
  readonly shared: boolean;
  readonly transport: "udp" | "tcp" | null;
  /** Responses dropped for a wrong source, ID or question, or bad encoding: a spoofing signal. */
  readonly ignored: number;
  readonly authenticated: boolean;
}

/** Metric names services should use for these events (prom-client, labels in comments). */
export const dnsMetricNames = {
  /** counter; labels: type, outcome, cached */
  queries: "postern_dns_queries_total",
  /** histogram of `ms / 1000` for non-cached calls; labels: type, outcome */
  duration: "postern_dns_query_duration_seconds",
  /** counter of `ignored`; no labels */
  ignoredResponses: "postern_dns_ignored_responses_total",
} as const;
