/**
 * dmarc: answers postern.v1.dmarc.check requests (queue group `dmarc`) with
 * DKIM + DMARC verdicts over EdgeCallback.ReportDmarc, serves Dmarc.Evaluate,
 * records aggregate report rows, queues failure reports
 * (dmarc_enable_forensic) and, on demand, aggregate reports (runAggregateReports,
 * the `postern-dmarc-report` command).
 */
export { configSchema, type DmarcConfig, dmarcSectionSchema, type DmarcSection } from "./config";
export { startDmarc, type DmarcDeps, dnsFromConfig, forensicSender, reportEmail } from "./service";
export { createCheck, spfInput, toProtoVerdict, refusal } from "./checker";
export { AGGREGATE_STREAM, ensureAggregateStream, queueMail, recordAggregate, runAggregateReports, sendForensic, type AggregateOutput } from "./reports";
export { dkimDnsFromDmarcDns, dmarcDnsFromResolver } from "./dns-adapter";
