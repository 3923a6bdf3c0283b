/**
 * spf: answers postern.v1.spf.check requests (queue group `spf`) with RFC 7208
 * verdicts over EdgeCallback.ReportSpf, and serves Spf.Check. This release
 * runs the process (config, NATS, health, metrics); the checks arrive with
 * the SPF issue.
 */
export { configSchema, type SpfConfig } from "./config";
export { startSpf } from "./service";
