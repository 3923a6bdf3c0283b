import type { z } from "zod";
import { ConfigError, loadConfig, readConfigFile } from "@postern/service-kit";
import { configSchema as edge } from "@postern/edge";
import { configSchema as spf } from "@postern/spf";
import { configSchema as dmarc } from "@postern/dmarc";
import { configSchema as daneOutbound } from "@postern/dane-outbound";
import { configSchema as ocspRefresher } from "@postern/ocsp-refresher";
import { configSchema as deliveryEvents } from "@postern/delivery-events";

export const serviceSchemas: ReadonlyArray<[string, z.ZodType]> = [
  ["edge", edge],
  ["spf", spf],
  ["dmarc", dmarc],
  ["dane-outbound", daneOutbound],
  ["ocsp-refresher", ocspRefresher],
  ["delivery-events", deliveryEvents],
];

/** The top-level sections some service reads: the shared ones and one per service. */
export function knownSections(): string[] {
  return ["log", "nats", ...serviceSchemas.map(([name]) => name.replace(/-/g, "_"))];
}

/** Top-level keys of the file that no service reads: each service ignores the others' sections, so nothing else would notice a typo. */
function unknownSections(file: string): string[] {
  let raw: unknown;
  try {
    raw = readConfigFile(file);
  } catch {
    return []; // an unreadable file is already reported by every service above
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return [];
  const known = new Set(knownSections());
  return Object.keys(raw).filter((key) => !known.has(key));
}

/** Validates one stack configuration file for every service, as each would at start-up. Returns the exit code. */
export function checkConfig(file: string, env: NodeJS.ProcessEnv, out: (line: string) => void): number {
  let failed = 0;
  for (const [service, schema] of serviceSchemas) {
    try {
      loadConfig(schema, { file, env });
      out(`ok     ${service}`);
    } catch (err) {
      failed++;
      const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
      out(`error  ${service}: ${message.replace(/\n/g, "\n         ")}`);
    }
  }
  const unknown = unknownSections(file);
  for (const section of unknown) out(`error  ${section}: no service reads this section (a typo of ${knownSections().join(", ")}?)`);
  failed += unknown.length;
  out(failed === 0 ? `${file}: valid for all ${serviceSchemas.length} services` : `${file}: invalid for ${failed} service(s)`);
  return failed === 0 ? 0 : 1;
}
