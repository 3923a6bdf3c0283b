/**
 * RFC 9990 aggregate reports as pure functions: a row per evaluation
 * (aggregateRow), rows merged by their reported facts (mergeRows), the XML
 * document (buildAggregateXml, namespace urn:ietf:params:xml:ns:dmarc-2.0,
 * valid against schema/dmarc-2.0.xsd), the attachment file name, the Subject
 * and the report message itself (buildAggregateMessage, gzip attachment).
 *
 * SECURITY: every value can come from a sender (From domains, d=, s=,
 * MAIL FROM domains); text is XML-escaped and stripped of characters XML does
 * not allow; header values are cleaned of line ends.
 */
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { type AlignmentMode, type Policy } from "./record";
import { type DmarcVerdict, type PolicyOverride } from "./verdict";
import { el } from "./xml";

export type ReportDisposition = "none" | "pass" | "quarantine" | "reject";
export type OverrideType = PolicyOverride | "local_policy" | "mailing_list" | "trusted_forwarder" | "other";

export interface AggregateRow {
  readonly sourceIp: string;
  readonly count: number;
  readonly disposition: ReportDisposition;
  readonly dkim: "pass" | "fail";
  readonly spf: "pass" | "fail";
  readonly reasons: readonly { readonly type: OverrideType; readonly comment?: string }[];
  readonly envelopeTo?: string;
  readonly envelopeFrom?: string;
  readonly headerFrom: string;
  readonly dkimResults: readonly { readonly domain: string; readonly selector: string; readonly result: string; readonly humanResult?: string }[];
  readonly spfResults: readonly { readonly domain: string; readonly scope?: "helo" | "mfrom"; readonly result: string }[];
}

export interface PolicyPublished {
  readonly domain: string;
  readonly discoveryMethod: "psl" | "treewalk";
  readonly p: Policy;
  readonly sp: Policy;
  readonly np?: Policy;
  readonly adkim: AlignmentMode;
  readonly aspf: AlignmentMode;
  readonly testing?: "y" | "n";
  readonly fo?: string;
}

export interface AggregateReport {
  readonly orgName: string;
  readonly email: string;
  readonly extraContactInfo?: string;
  readonly reportId: string;
  /** seconds since the epoch */
  readonly begin: number;
  readonly end: number;
  readonly generator?: string;
  readonly errors?: readonly string[];
  readonly policy: PolicyPublished;
  readonly rows: readonly AggregateRow[];
}

const DKIM_RESULTS = new Set(["none", "pass", "fail", "policy", "neutral", "temperror", "permerror"]);
const SPF_RESULTS = new Set(["none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"]);

/** The report's "published policy" for a verdict that found a record; undefined otherwise. */
export function policyPublished(v: DmarcVerdict): PolicyPublished | undefined {
  if (v.record === undefined || v.tags === undefined || v.policyDomain === undefined) return undefined;
  return {
    domain: v.policyDomain,
    discoveryMethod: v.mode === "rfc9989" ? "treewalk" : "psl",
    p: v.tags.p,
    sp: v.tags.sp ?? v.tags.p,
    ...(v.tags.np === undefined ? {} : { np: v.tags.np }),
    adkim: v.record.adkim,
    aspf: v.record.aspf,
    ...(v.mode === "rfc9989" ? { testing: v.record.testing ? ("y" as const) : ("n" as const) } : {}),
    fo: v.record.fo.join(":"),
  };
}

/** One evaluation as a report row (count 1). */
export function aggregateRow(v: DmarcVerdict, facts: { sourceIp: string; envelopeTo?: string; override?: OverrideType; overrideComment?: string }): AggregateRow {
  const reasons: { type: OverrideType; comment?: string }[] = [];
  if (v.override !== undefined) reasons.push({ type: v.override });
  if (facts.override !== undefined) reasons.push({ type: facts.override, ...(facts.overrideComment === undefined ? {} : { comment: facts.overrideComment }) });
  const spf = v.spf;
  // RFC 9990: passing strictly aligned signatures first, then relaxed, then other passes, then the rest; at most 100.
  const rank = (d: { domain: string; result: string }): number => {
    const pass = d.result.toLowerCase() === "pass";
    const dom = d.domain.toLowerCase();
    if (pass && dom === v.authorDomain) return 0;
    if (pass && d.domain === v.alignment.dkimDomain) return 1;
    return pass ? 2 : 3;
  };
  const dkimResults = [...v.dkim]
    .sort((a, b) => rank(a) - rank(b))
    .slice(0, 100)
    .map((d) => ({
      domain: d.domain,
      selector: d.selector ?? "",
      result: DKIM_RESULTS.has(d.result.toLowerCase()) ? d.result.toLowerCase() : "neutral",
      ...(d.reason ? { humanResult: d.reason } : {}),
    }));
  return {
    sourceIp: facts.sourceIp,
    count: 1,
    disposition: v.result === "pass" ? "pass" : v.disposition,
    dkim: v.alignment.dkim ? "pass" : "fail",
    spf: v.alignment.spf ? "pass" : "fail",
    reasons,
    ...(facts.envelopeTo === undefined ? {} : { envelopeTo: facts.envelopeTo }),
    ...(spf === undefined ? {} : { envelopeFrom: spf.domain }),
    headerFrom: v.authorDomain ?? "",
    dkimResults,
    spfResults:
      spf === undefined
        ? [{ domain: "", result: "none" }]
        : [{ domain: spf.domain, ...(spf.scope === undefined ? {} : { scope: spf.scope }), result: SPF_RESULTS.has(spf.result.toLowerCase()) ? spf.result.toLowerCase() : "none" }],
  };
}

/** Rows with the same reported facts become one row with the counts added. */
export function mergeRows(rows: readonly AggregateRow[]): AggregateRow[] {
  const byKey = new Map<string, AggregateRow>();
  for (const row of rows) {
    const key = JSON.stringify({ ...row, count: 0 });
    const prev = byKey.get(key);
    byKey.set(key, prev === undefined ? row : { ...prev, count: prev.count + row.count });
  }
  return [...byKey.values()];
}

export const DMARC_XML_NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0";

export function buildAggregateXml(report: AggregateReport): string {
  const p = report.policy;
  let xml = `<?xml version="1.0" encoding="UTF-8"?>\n<feedback xmlns="${DMARC_XML_NAMESPACE}">\n  <version>1.0</version>\n  <report_metadata>\n`;
  xml += el("org_name", report.orgName, "    ") + el("email", report.email, "    ") + el("extra_contact_info", report.extraContactInfo, "    ");
  xml += el("report_id", report.reportId, "    ");
  xml += `    <date_range>\n${el("begin", Math.floor(report.begin), "      ")}${el("end", Math.floor(report.end), "      ")}    </date_range>\n`;
  xml += el("generator", report.generator, "    ");
  if (report.errors !== undefined && report.errors.length > 0) xml += el("error", report.errors.join("; ").slice(0, 2000), "    ");
  xml += `  </report_metadata>\n  <policy_published>\n`;
  xml += el("domain", p.domain, "    ") + el("discovery_method", p.discoveryMethod, "    ") + el("adkim", p.adkim, "    ") + el("aspf", p.aspf, "    ");
  xml += el("p", p.p, "    ") + el("sp", p.sp, "    ") + el("np", p.np, "    ") + el("testing", p.testing, "    ") + el("fo", p.fo, "    ");
  xml += `  </policy_published>\n`;
  for (const r of report.rows) {
    xml += `  <record>\n    <row>\n${el("source_ip", r.sourceIp, "      ")}${el("count", r.count, "      ")}      <policy_evaluated>\n`;
    xml += el("disposition", r.disposition, "        ") + el("dkim", r.dkim, "        ") + el("spf", r.spf, "        ");
    for (const reason of r.reasons) xml += `        <reason>\n${el("type", reason.type, "          ")}${el("comment", reason.comment, "          ")}        </reason>\n`;
    xml += `      </policy_evaluated>\n    </row>\n    <identifiers>\n`;
    xml += el("envelope_to", r.envelopeTo, "      ") + el("envelope_from", r.envelopeFrom, "      ") + el("header_from", r.headerFrom, "      ");
    xml += `    </identifiers>\n    <auth_results>\n`;
    for (const d of r.dkimResults) {
      xml += `      <dkim>\n${el("domain", d.domain, "        ")}${el("selector", d.selector, "        ")}${el("result", d.result, "        ")}${el("human_result", d.humanResult, "        ")}      </dkim>\n`;
    }
    for (const s of r.spfResults) xml += `      <spf>\n${el("domain", s.domain, "        ")}${el("scope", s.scope, "        ")}${el("result", s.result, "        ")}      </spf>\n`;
    xml += `    </auth_results>\n  </record>\n`;
  }
  return `${xml}</feedback>\n`;
}

/** RFC 9990 file name: receiver!policy-domain!begin!end[!unique-id].xml[.gz] */
export function aggregateFilename(receiver: string, policyDomain: string, begin: number, end: number, uniqueId?: string, gzip = true): string {
  const id = uniqueId === undefined ? "" : `!${uniqueId.replace(/[^A-Za-z0-9]/g, "")}`;
  return `${receiver}!${policyDomain}!${Math.floor(begin)}!${Math.floor(end)}${id}.${gzip ? "xml.gz" : "xml"}`;
}

const headerSafe = (s: string): string => s.replace(/[\r\n]+/g, " ");

export interface ReportMessageOptions {
  /** RFC5322.From of the report */
  readonly from: string;
  readonly to: readonly string[];
  /** our host name: the Submitter and the file name's receiver */
  readonly receiver: string;
  readonly date?: Date;
  readonly messageId?: string;
}

/** The report e-mail (RFC 9990 section 3.? "Email"): a text part and the gzip XML attachment. CRLF line ends. */
export function buildAggregateMessage(report: AggregateReport, opts: ReportMessageOptions): { message: Buffer; filename: string } {
  const xml = buildAggregateXml(report);
  const filename = aggregateFilename(opts.receiver, report.policy.domain, report.begin, report.end, report.reportId);
  const gz = gzipSync(Buffer.from(xml, "utf8")).toString("base64").replace(/.{1,76}/g, "$&\r\n");
  const boundary = `=_postern_${randomUUID()}`;
  const date = (opts.date ?? new Date()).toUTCString().replace("GMT", "+0000");
  const lines = [
    `From: ${headerSafe(opts.from)}`,
    `To: ${headerSafe(opts.to.join(", "))}`,
    `Subject: Report Domain: ${headerSafe(report.policy.domain)} Submitter: ${headerSafe(opts.receiver)} Report-ID: <${headerSafe(report.reportId)}>`,
    `Date: ${date}`,
    `Message-ID: <${headerSafe(opts.messageId ?? `${report.reportId}@${opts.receiver}`)}>`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=us-ascii",
    "",
    `DMARC aggregate report for ${headerSafe(report.policy.domain)} from ${headerSafe(opts.receiver)}.`,
    "",
    `--${boundary}`,
    `Content-Type: application/gzip; name="${filename}"`,
    `Content-Disposition: attachment; filename="${filename}"`,
    "Content-Transfer-Encoding: base64",
    "",
    gz.replace(/\r\n$/, ""),
    `--${boundary}--`,
    "",
  ];
  return { message: Buffer.from(lines.join("\r\n"), "utf8"), filename };
}
