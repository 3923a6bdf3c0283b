/**
 * Authentication-Results (RFC 8601) for $dmarc_ar_header: one resinfo each for
 * SPF, every DKIM signature and DMARC. Values come from hostile input (From
 * domains, d=, s=, b=): anything outside the value grammar is dropped and each
 * value capped, so the header cannot be split or extended by a sender.
 */
import { type DmarcVerdict } from "./verdict";

const FIELD_MAX = 96;

/** A property value or result keyword: visible ASCII without the characters that end or comment a value. */
export function arValue(text: string, max = FIELD_MAX): string {
  const cleaned = text.replace(/[^\x21-\x7e]|[;()"\\]/g, "");
  return cleaned.length > max ? cleaned.slice(0, max) : cleaned;
}

/** Comment text: printable ASCII without parentheses or backslashes. */
function commentText(text: string, max: number): string {
  const cleaned = text.replace(/[^\x20-\x7e]|[()\\]/g, "").trim();
  return cleaned.length > max ? cleaned.slice(0, max) : cleaned;
}

function keyword(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]/g, "") || "none";
}

type ArFacts = Pick<DmarcVerdict, "result" | "dkim" | "spf" | "authorDomain" | "authorDomains" | "tags" | "disposition" | "problem" | "status">;

export function formatDmarcResinfo(v: ArFacts): string {
  const parts = [`dmarc=${v.result}`];
  if (v.tags !== undefined) {
    const sp = v.tags.sp === undefined ? "" : ` sp=${v.tags.sp}`;
    parts.push(`(p=${v.tags.p}${sp} dis=${v.disposition})`);
  } else if (v.status === "nofrom" && v.problem !== undefined) {
    parts.push(`(${commentText(v.problem, 80)})`);
  }
  const from = v.authorDomain ?? v.authorDomains[0];
  if (from !== undefined) parts.push(`header.from=${arValue(from)}`);
  return parts.join(" ");
}

/** The whole header ("Authentication-Results: ...") and the dmarc resinfo alone. */
export function formatArHeader(authservId: string, v: ArFacts): { header: string; dmarc: string } {
  const resinfo: string[] = [];
  if (v.spf !== undefined) {
    const prop = v.spf.scope === "helo" ? "smtp.helo" : "smtp.mailfrom";
    resinfo.push(`spf=${keyword(v.spf.result)}${v.spf.domain === "" ? "" : ` ${prop}=${arValue(v.spf.domain)}`}`);
  }
  if (v.dkim.length === 0) resinfo.push("dkim=none");
  for (const d of v.dkim.slice(0, 20)) {
    let s = `dkim=${keyword(d.result)}`;
    if (d.reason) s += ` (${commentText(d.reason, 60)})`;
    s += ` header.d=${arValue(d.domain)}`;
    if (d.selector) s += ` header.s=${arValue(d.selector)}`;
    if (d.signature) s += ` header.b=${arValue(d.signature, 8)}`;
    resinfo.push(s);
  }
  const dmarc = formatDmarcResinfo(v);
  resinfo.push(dmarc);
  return { header: `Authentication-Results: ${arValue(authservId, 253)};\r\n\t${resinfo.join(";\r\n\t")}`, dmarc };
}
