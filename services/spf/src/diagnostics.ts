/** Every log event and metric of the spf service, in one place. */
import { dnsMetricNames, type QueryEvent } from "@postern/dns";
import { TallyCounter, TallyHistogram, type TallyObserver } from "@postern/service-kit";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The `event` field of each log record, with its other fields. */
export const logEvents = {
  consumerReady: "spf.consumer_ready", // { subject, queue }
  consumerStopped: "spf.consumer_stopped", // { in_flight }
  requestDropped: "spf.request_dropped", // { reason, err? } (debug)
  subscriptionError: "spf.subscription_error", // { err }
  replyFailed: "spf.reply_failed", // { address, txn_id, err }
  checkFailed: "spf.check_failed", // { err } (a bug: libspf returns verdicts)
  drainTimeout: "spf.drain_timeout", // { in_flight } (checks still running when the grace ran out)
} as const;

/** Why a request got no check: invalid_ip and overload are answered temperror; the others are not answered. */
export const dropReasons = { noReplyTo: "no_reply_to", undecodable: "undecodable", invalidIp: "invalid_ip", overload: "overload", stopping: "stopping" } as const;
export type DropReason = (typeof dropReasons)[keyof typeof dropReasons];

/** Where a check came from. */
export const checkSources = { nats: "nats", grpc: "grpc" } as const;
export type CheckSource = (typeof checkSources)[keyof typeof checkSources];

export interface SpfMetrics {
  /** postern_spf_checks_total{result, source} */
  checks: Counter<"result" | "source">;
  /** postern_spf_check_duration_seconds{source} (summed per source, handed to prom-client when scraped) */
  checkSeconds: Record<CheckSource, TallyObserver<"source">>;
  /** postern_spf_checks_in_flight, read from `running` when scraped (no gauge update per check) */
  inFlight: { running: number };
  /** postern_spf_requests_dropped_total{reason} */
  dropped: Counter<"reason">;
  /** postern_spf_replies_total{outcome="ok|error"}: EdgeCallback.ReportSpf calls */
  replies: Counter<"outcome">;
  /** the @postern/dns onQuery hook, feeding postern_dns_* */
  onDnsQuery: (event: QueryEvent) => void;
}

export function createSpfMetrics(registry: Registry): SpfMetrics {
  const registers = [registry];
  const inFlight = { running: 0 };
  const checkSeconds = new TallyHistogram({
    name: "postern_spf_check_duration_seconds",
    help: "Time to an SPF verdict (DNS included)",
    labelNames: ["source"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4],
    registers,
  });
  new Gauge({
    name: "postern_spf_checks_in_flight",
    help: "SPF checks running now",
    registers,
    collect() {
      this.set(inFlight.running);
    },
  });
  // TallyCounter: several DNS queries and a check per message (see service-kit metrics.ts)
  const dnsQueries = new TallyCounter({ name: dnsMetricNames.queries, help: "DNS queries by type, outcome and cache use", labelNames: ["type", "outcome", "cached"] as const, registers });
  const dnsSeconds = new Histogram({
    name: dnsMetricNames.duration,
    help: "DNS query time (cache misses), retries included",
    labelNames: ["type", "outcome"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers,
  });
  const dnsIgnored = new Counter({ name: dnsMetricNames.ignoredResponses, help: "DNS responses ignored for a wrong source, ID or question", registers });
  return {
    checks: new TallyCounter({ name: "postern_spf_checks_total", help: "SPF checks by result and source", labelNames: ["result", "source"] as const, registers }),
    checkSeconds: { nats: checkSeconds.observer({ source: checkSources.nats }), grpc: checkSeconds.observer({ source: checkSources.grpc }) },
    inFlight,
    dropped: new Counter({ name: "postern_spf_requests_dropped_total", help: "spf.check requests not checked, by reason", labelNames: ["reason"] as const, registers }),
    // TallyCounter: one reply per message
    replies: new TallyCounter({ name: "postern_spf_replies_total", help: "EdgeCallback.ReportSpf calls by outcome", labelNames: ["outcome"] as const, registers }),
    onDnsQuery: (event) => {
      dnsQueries.inc({ type: event.type, outcome: event.outcome, cached: String(event.cached) });
      if (!event.cached && !event.shared) dnsSeconds.observe({ type: event.type, outcome: event.outcome }, event.ms / 1000);
      if (event.ignored > 0) dnsIgnored.inc(event.ignored);
    },
  };
}
