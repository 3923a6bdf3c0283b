/**
 * dmarc: answers postern.v1.dmarc.check requests (queue group `dmarc`) with
 * DKIM + DMARC verdicts over EdgeCallback.ReportDmarc. This release runs the
 * process (config, NATS, health, metrics); the checks arrive with the DMARC issue.
 */
export { configSchema, type DmarcConfig } from "./config";
export { startDmarc } from "./service";
