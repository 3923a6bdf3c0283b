/**
 * Failure (forensic) reports: RFC 6591 authentication failure reports in the
 * ARF format (RFC 5965), with the DMARC rules of RFC 9991 (RFC 7489 7.3):
 * the `fo` options decide whether a failure is reported, and only the
 * original header section is included (text/rfc822-headers), never the body,
 * which limits what leaks about the message.
 *
 * SECURITY: the original headers are hostile; they go into their own MIME
 * part unchanged apart from line-end normalisation and a size cap. Values put
 * into our own header fields are cleaned of line ends.
 */
import { randomUUID } from "node:crypto";
import { type DmarcVerdict } from "./verdict";

/** Largest original header section copied into a report. */
export const MAX_REPORTED_HEADERS = 64 * 1024;

/**
 * RFC 7489 6.3 / RFC 9991 `fo`: 0 = report when no mechanism produced an
 * aligned pass; 1 = when any mechanism failed to produce one; d = when a DKIM
 * signature failed to verify; s = when SPF failed, alignment aside.
 */
export function wantsFailureReport(v: DmarcVerdict): boolean {
  if (v.record === undefined || v.record.ruf.length === 0 || v.authorDomain === undefined) return false;
  if (v.result !== "fail" && v.result !== "pass") return false;
  const fo = v.record.fo;
  if (fo.includes("0") && v.result === "fail") return true;
  if (fo.includes("1") && (!v.alignment.dkim || !v.alignment.spf)) return true;
  if (fo.includes("d") && v.dkim.some((d) => d.result.toLowerCase() === "fail")) return true;
  if (fo.includes("s") && v.spf !== undefined && ["fail", "softfail"].includes(v.spf.result.toLowerCase())) return true;
  return false;
}

export interface FailureReportFacts {
  /** the reported message's header section (raw) */
  readonly headers: string | Uint8Array;
  readonly sourceIp: string;
  readonly mailFrom: string;
  readonly rcptTo?: readonly string[];
  readonly arrival: Date;
  /** our host name (Reporting-MTA) */
  readonly reportingMta: string;
  readonly deliveryResult: "delivered" | "spam" | "policy" | "reject" | "other";
  readonly originalMessageId?: string;
}

export interface FailureReportOptions {
  readonly from: string;
  readonly to: readonly string[];
  readonly userAgent?: string;
  readonly date?: Date;
  readonly messageId?: string;
}

const safe = (s: string): string => s.replace(/[\r\n]+/g, " ").slice(0, 900);

function headerSection(headers: string | Uint8Array): string {
  const text = typeof headers === "string" ? headers : Buffer.from(headers).toString("latin1");
  const cut = text.length > MAX_REPORTED_HEADERS ? text.slice(0, MAX_REPORTED_HEADERS) : text;
  const end = cut.search(/\r?\n\r?\n/);
  const section = end < 0 ? cut : cut.slice(0, end);
  return section.replace(/\r?\n/g, "\r\n");
}

/** The failure report message (multipart/report; report-type=feedback-report), CRLF line ends. */
export function buildFailureReport(v: DmarcVerdict, facts: FailureReportFacts, opts: FailureReportOptions): Buffer {
  const domain = v.authorDomain ?? "";
  const boundary = `=_postern_${randomUUID()}`;
  const date = (opts.date ?? new Date()).toUTCString().replace("GMT", "+0000");
  const aligned = [v.alignment.dkim ? "dkim" : "", v.alignment.spf ? "spf" : ""].filter(Boolean).join(",") || "none";
  const fields = [
    "Feedback-Type: auth-failure",
    `User-Agent: ${safe(opts.userAgent ?? "Postern")}`,
    "Version: 1",
    `Original-Mail-From: <${safe(facts.mailFrom)}>`,
    ...(facts.rcptTo ?? []).slice(0, 10).map((r) => `Original-Rcpt-To: <${safe(r)}>`),
    `Arrival-Date: ${facts.arrival.toUTCString().replace("GMT", "+0000")}`,
    `Reporting-MTA: dns; ${safe(facts.reportingMta)}`,
    `Source-IP: ${safe(facts.sourceIp)}`,
    `Reported-Domain: ${safe(domain)}`,
    `Authentication-Results: ${safe(facts.reportingMta)}; ${safe(v.arDmarc)}`,
    "Auth-Failure: dmarc",
    `Identity-Alignment: ${aligned}`,
    `Delivery-Result: ${facts.deliveryResult}`,
  ];
  const lines = [
    `From: ${safe(opts.from)}`,
    `To: ${safe(opts.to.join(", "))}`,
    `Subject: DMARC failure report for ${safe(domain)}${facts.originalMessageId ? ` (${safe(facts.originalMessageId)})` : ""}`,
    `Date: ${date}`,
    `Message-ID: <${safe(opts.messageId ?? `${randomUUID()}@${facts.reportingMta}`)}>`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=us-ascii",
    "",
    `A message claiming to be from ${safe(domain)} failed DMARC evaluation at ${safe(facts.reportingMta)}.`,
    `Source IP: ${safe(facts.sourceIp)}; result: ${safe(v.arDmarc)}.`,
    "",
    `--${boundary}`,
    "Content-Type: message/feedback-report",
    "",
    ...fields,
    "",
    `--${boundary}`,
    "Content-Type: text/rfc822-headers",
    "",
    headerSection(facts.headers),
    "",
    `--${boundary}--`,
    "",
  ];
  return Buffer.from(lines.join("\r\n"), "latin1");
}
