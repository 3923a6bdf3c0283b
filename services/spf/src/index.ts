/**
 * spf: SPF verdicts (RFC 7208, through @postern/libspf) for the edge and for
 * operators. A queue-group consumer of postern.v1.spf.check (group `spf`:
 * any instance takes any request) checks the client and answers through
 * EdgeCallback.ReportSpf on the request's reply_to; gRPC Spf.Check is the
 * ${lookup spf} equivalent, IPv4 and IPv6. DNS goes through @postern/dns
 * (servers from the `dns` section or /etc/resolv.conf).
 *
 * STANDARDS: RFC 7208 (via libspf), RFC 8601 fragments, RFC 7372 codes at the edge.
 *
 * SECURITY: requests are decoded with the bus codec; a check is bounded by
 * check_timeout_ms and libspf's DNS limits, and the service by max_in_flight
 * (beyond it: temperror at once). Record and explanation text is hostile and
 * leaves only through libspf's cleaned header and comment fields.
 *
 * DIAGNOSTICS: log events and metrics are listed in ./diagnostics.ts
 * (postern_spf_checks_total, postern_spf_check_duration_seconds,
 * postern_spf_requests_dropped_total, postern_spf_replies_total, postern_dns_*).
 */
export { configSchema, spfSectionSchema, type SpfConfig, type SpfSection } from "./config";
export { startSpf, type SpfDeps } from "./service";
/** In-memory DNS from zone data, for tests and benchmarks that run the service. */
export { createZoneDns, type ZoneData } from "@postern/libspf";
