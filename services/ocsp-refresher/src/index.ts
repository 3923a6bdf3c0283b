/**
 * ocsp-refresher: keeps OCSP staples for the edge's certificates fresh in KV
 * ocsp-staples. This release runs the process (config, NATS with the OCSP KV
 * buckets, health, metrics); fetching arrives with the OCSP issue.
 */
export { configSchema, type OcspRefresherConfig } from "./config";
export { startOcspRefresher } from "./service";
