/**
 * Checks aggregate report XML against schema/dmarc-2.0.xsd (RFC 9990) with
 * xmllint (Debian libxml2-utils, installed by scripts/bootstrap.sh). For tests
 * and the report CLI; nothing here runs in the evaluation path.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The schema file (in the package, next to src/ and dist/). */
export const aggregateSchemaPath = join(__dirname, "..", "..", "schema", "dmarc-2.0.xsd");

/** `ok` when xmllint says the document validates; `output` is what it printed. */
export function validateAggregateXml(xml: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "dmarc-xsd-"));
  try {
    const file = join(dir, "report.xml");
    writeFileSync(file, xml);
    const r = spawnSync("xmllint", ["--noout", "--schema", aggregateSchemaPath, file], { encoding: "utf8" });
    if (r.error) return { ok: false, output: `xmllint not runnable (install libxml2-utils): ${r.error.message}` };
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
