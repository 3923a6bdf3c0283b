/**
 * Verifying external report destinations (RFC 9990 section 4 for rua, RFC
 * 9991 for ruf, RFC 7489 7.1): a mailto: URI whose domain has another
 * Organizational Domain than the policy domain is used only when
 * <policy-domain>._report._dmarc.<destination> publishes a v=DMARC1 record.
 * An override rua= in that record replaces the URI only when it names the
 * same destination host. DNS errors make a destination unverified (no report).
 */
import { walkOrgDomain } from "./discovery";
import { type DmarcDns } from "./dns";
import { DmarcLookup } from "./lookup";
import { pslOrganizationalDomain } from "./psl";
import { isDmarcRecord, parseReportUris, type ReportUri } from "./record";
import { type DmarcMode } from "./discovery";

export async function verifyReportUris(
  dns: DmarcDns,
  mode: DmarcMode,
  policyDomain: string,
  uris: readonly ReportUri[],
  kind: "rua" | "ruf" = "rua",
): Promise<ReportUri[]> {
  const lookup = new DmarcLookup(dns);
  const org = async (d: string): Promise<string> => (mode === "rfc9989" ? walkOrgDomain(d, lookup) : pslOrganizationalDomain(d));
  const out: ReportUri[] = [];
  let policyOrg: string;
  try {
    policyOrg = await org(policyDomain);
  } catch {
    return [];
  }
  for (const uri of uris.slice(0, 8)) {
    if (uri.scheme !== "mailto" || uri.domain === undefined) continue;
    try {
      if ((await org(uri.domain)) === policyOrg) {
        out.push(uri);
        continue;
      }
      const name = `${policyDomain}._report._dmarc.${uri.domain}`;
      if (name.length > 253) continue;
      const outcome = await dns.txt(name);
      if (outcome.kind !== "answer") continue;
      const records = outcome.records.map((r) => r.join("").trim()).filter(isDmarcRecord);
      if (records.length === 0) continue;
      const override = /(?:^|;)\s*([a-z]+)\s*=\s*([^;]*)/gi;
      let replaced: ReportUri[] | undefined;
      for (const m of (records[0] as string).matchAll(override)) {
        if (m[1] === kind) replaced = parseReportUris(m[2]);
      }
      if (replaced !== undefined && replaced.length > 0) {
        // An override must keep the destination host, or neither URI gets reports.
        if (replaced.every((r) => r.domain === uri.domain)) out.push(...replaced);
        continue;
      }
      out.push(uri);
    } catch {
      continue;
    }
  }
  return out;
}
