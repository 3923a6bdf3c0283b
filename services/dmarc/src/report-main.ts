/**
 * postern-dmarc-report: runs the aggregate report job once with the stack's
 * configuration (--config FILE or POSTERN_CONFIG): every recorded row, one
 * RFC 9990 report per policy domain, queued to the verified rua= addresses.
 * Prints one line per report. Run it from cron (daily, as ri= asks by default).
 */
import { connectBus } from "@postern/bus";
import { createLogger, loadConfig } from "@postern/service-kit";
import { configSchema } from "./config";
import { runAggregateReports } from "./reports";
import { dnsFromConfig, reportEmail } from "./service";

async function main(): Promise<void> {
  const i = process.argv.indexOf("--config");
  const file = i >= 0 ? process.argv[i + 1] : process.env.POSTERN_CONFIG;
  const config = loadConfig(configSchema, { ...(file === undefined ? {} : { file }), env: process.env });
  const logger = createLogger({ name: "dmarc-report", level: config.log.level });
  const bus = await connectBus(config.nats, { name: "dmarc-report", logger });
  try {
    const cfg = config.dmarc;
    const out = await runAggregateReports({ bus, dns: dnsFromConfig(cfg), mode: cfg.mode, receiver: cfg.authserv_id, orgName: cfg.reports.org_name, email: reportEmail(cfg) });
    for (const r of out) process.stdout.write(`${r.domain}: ${r.rows} rows -> ${r.recipients.join(", ") || "(no verified rua)"}${r.messageId ? ` id=${r.messageId}` : ""}\n`);
  } finally {
    await bus.drain();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`postern-dmarc-report: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
