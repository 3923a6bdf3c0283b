/** Every log event and metric of the dmarc service, in one place. */
import { dnsMetricNames, type QueryEvent } from "@postern/dns";
import { TallyCounter } from "@postern/service-kit";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export const logEvents = {
  consumerReady: "dmarc.consumer_ready", // { subject, queue }
  consumerStopped: "dmarc.consumer_stopped", // { in_flight }
  requestDropped: "dmarc.request_dropped", // { reason, err? } (debug)
  subscriptionError: "dmarc.subscription_error", // { err }
  replyFailed: "dmarc.reply_failed", // { address, txn_id, err }
  checkFailed: "dmarc.check_failed", // { err } (a bug or an unreadable body)
  verdict: "dmarc.verdict", // { status, result, author_domain, used_domain, policy } (debug)
  forensicQueued: "dmarc.forensic_queued", // { message_id, domain, recipients }
  forensicFailed: "dmarc.forensic_failed", // { domain, err }
  aggregateFailed: "dmarc.aggregate_record_failed", // { domain, err }
  aggregateReport: "dmarc.aggregate_report", // { domain, rows, recipients, message_id }
  drainTimeout: "dmarc.drain_timeout", // { in_flight }
} as const;

export const dropReasons = { noReplyTo: "no_reply_to", undecodable: "undecodable", overload: "overload", stopping: "stopping" } as const;
export type DropReason = (typeof dropReasons)[keyof typeof dropReasons];

export const checkSources = { nats: "nats", grpc: "grpc" } as const;
export type CheckSource = (typeof checkSources)[keyof typeof checkSources];

export interface DmarcMetrics {
  /** postern_dmarc_checks_total{status, source} */
  checks: Counter<"status" | "source">;
  checkSeconds: Histogram<"source">;
  inFlight: Gauge;
  dropped: Counter<"reason">;
  replies: Counter<"outcome">;
  /** postern_dmarc_reports_total{kind="forensic|aggregate", outcome} */
  reports: Counter<"kind" | "outcome">;
  onDnsQuery: (event: QueryEvent) => void;
}

export function createDmarcMetrics(registry: Registry): DmarcMetrics {
  const registers = [registry];
  // TallyCounter: several DNS queries and a check per message (see service-kit metrics.ts)
  const dnsQueries = new TallyCounter({ name: dnsMetricNames.queries, help: "DNS queries by type, outcome and cache use", labelNames: ["type", "outcome", "cached"] as const, registers });
  const dnsSeconds = new Histogram({
    name: dnsMetricNames.duration,
    help: "DNS query time (cache misses), retries included",
    labelNames: ["type", "outcome"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers,
  });
  return {
    checks: new TallyCounter({ name: "postern_dmarc_checks_total", help: "DKIM + DMARC checks by $dmarc_status and source", labelNames: ["status", "source"] as const, registers }),
    checkSeconds: new Histogram({
      name: "postern_dmarc_check_duration_seconds",
      help: "Time to a DMARC verdict (body read, DKIM and DNS included)",
      labelNames: ["source"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4],
      registers,
    }),
    inFlight: new Gauge({ name: "postern_dmarc_checks_in_flight", help: "DMARC checks running now", registers }),
    dropped: new Counter({ name: "postern_dmarc_requests_dropped_total", help: "dmarc.check requests not checked, by reason", labelNames: ["reason"] as const, registers }),
    replies: new Counter({ name: "postern_dmarc_replies_total", help: "EdgeCallback.ReportDmarc calls by outcome", labelNames: ["outcome"] as const, registers }),
    reports: new Counter({ name: "postern_dmarc_reports_total", help: "Failure and aggregate reports by outcome", labelNames: ["kind", "outcome"] as const, registers }),
    onDnsQuery: (event) => {
      dnsQueries.inc({ type: event.type, outcome: event.outcome, cached: String(event.cached) });
      if (!event.cached && !event.shared) dnsSeconds.observe({ type: event.type, outcome: event.outcome }, event.ms / 1000);
    },
  };
}
