/**
 * DMARC policy records (RFC 7489 section 6.3, RFC 9989 section 4.7): selecting
 * the record among the TXT answers, parsing its tag-list strictly (RFC 6376
 * section 3.2: tag names are case-sensitive, a duplicated tag invalidates the
 * list) and applying the RFCs' defaults. Parsing never throws.
 *
 * SECURITY: record text is hostile. It is capped, scanned linearly (no
 * backtracking regular expressions over the whole record) and only known tags
 * are kept; report URIs are checked against a URI character set.
 */

export const policies = ["none", "quarantine", "reject"] as const;
export type Policy = (typeof policies)[number];

export type AlignmentMode = "r" | "s";

export interface ReportUri {
  /** The URI as published, without the obsolete `!size` suffix. */
  readonly uri: string;
  /** Lower-case scheme: "mailto", "https" ... */
  readonly scheme: string;
  /** For mailto: the address (percent-decoded). */
  readonly address?: string;
  /** For mailto: the address's domain, lower case. */
  readonly domain?: string;
  /** Obsolete `!size` limit in bytes (RFC 7489 section 6.2), when given. */
  readonly maxBytes?: number;
}

export interface DmarcRecord {
  /** The record as published (character-strings joined). */
  readonly text: string;
  /** `p`, when it holds a valid policy. */
  readonly p: Policy | undefined;
  readonly sp: Policy | undefined;
  readonly np: Policy | undefined;
  /** `sp` / `np` present with an invalid value. */
  readonly spInvalid: boolean;
  readonly npInvalid: boolean;
  readonly adkim: AlignmentMode;
  readonly aspf: AlignmentMode;
  /** `fo` options (RFC 7489 6.3): "0" by default. */
  readonly fo: readonly string[];
  readonly rf: string;
  readonly ri: number;
  /** RFC 7489 only: 0..100, 100 by default. */
  readonly pct: number;
  /** RFC 9989 only: `t=y` */
  readonly testing: boolean;
  /** RFC 9989 only. */
  readonly psd: "y" | "n" | "u";
  readonly rua: readonly ReportUri[];
  readonly ruf: readonly ReportUri[];
}

/** Longest record we parse; longer text is cut (a DMARC record is a few hundred bytes). */
const MAX_RECORD = 4096;

/** `v=DMARC1` first, with optional whitespace around "=" (the tag name is matched case-insensitively, the value exactly). */
const VERSION = /^[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)/;

export function isDmarcRecord(text: string): boolean {
  return VERSION.test(text.trim());
}

/**
 * The one DMARC record among a name's TXT records, or undefined when there is
 * none or more than one (both mean "no record": RFC 7489 6.6.3, RFC 9989 4.10).
 */
export function selectRecord(txt: readonly (readonly string[])[]): string | undefined {
  const found: string[] = [];
  for (const strings of txt) {
    const text = strings.join("").trim();
    if (isDmarcRecord(text)) found.push(text);
  }
  return found.length === 1 ? found[0] : undefined;
}

const CASE_INSENSITIVE = new Set(["p", "sp", "np", "adkim", "aspf", "fo", "rf", "t", "psd"]);

function asPolicy(value: string | undefined): Policy | undefined | null {
  if (value === undefined) return undefined;
  return (policies as readonly string[]).includes(value) ? (value as Policy) : null;
}

const URI = /^[a-z][a-z0-9+.-]*:(?:[a-z0-9\-._~:/?#[\]@$&'()*+;=]|%[0-9a-f]{2})*$/i;
const OBS_SIZE = /!([0-9]+)([kmgt]?)$/i;
const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parses a `rua`/`ruf` value; invalid URIs are dropped. */
export function parseReportUris(value: string | undefined): ReportUri[] {
  if (value === undefined) return [];
  const out: ReportUri[] = [];
  for (const raw of value.split(",").slice(0, 32)) {
    let uri = raw.trim();
    let maxBytes: number | undefined;
    const size = OBS_SIZE.exec(uri);
    if (size) {
      maxBytes = Number(size[1]) * (UNITS[(size[2] ?? "").toLowerCase()] ?? 1);
      uri = uri.slice(0, size.index);
    }
    if (!URI.test(uri)) continue;
    const scheme = uri.slice(0, uri.indexOf(":")).toLowerCase();
    let entry: ReportUri = { uri, scheme, ...(maxBytes === undefined ? {} : { maxBytes }) };
    if (scheme === "mailto") {
      let address: string;
      try {
        address = decodeURIComponent(uri.slice(7).split("?")[0] ?? "");
      } catch {
        continue;
      }
      const at = address.lastIndexOf("@");
      if (at <= 0 || at === address.length - 1) continue;
      entry = { ...entry, address, domain: address.slice(at + 1).toLowerCase().replace(/\.$/, "") };
    }
    out.push(entry);
  }
  return out;
}

export type RecordParse = { readonly ok: true; readonly record: DmarcRecord } | { readonly ok: false; readonly reason: string };

/**
 * Parses a record that passed isDmarcRecord. Unknown tags are ignored, invalid
 * values of known tags fall back to the defaults (RFC 7489 6.3: "syntax errors
 * in the remainder of the record SHOULD be discarded in favor of default
 * values"); a duplicated tag makes the tag-list, and so the record, invalid.
 */
export function parseRecord(input: string): RecordParse {
  const text = input.length > MAX_RECORD ? input.slice(0, MAX_RECORD) : input;
  if (!isDmarcRecord(text)) return { ok: false, reason: "not a DMARC record (v=DMARC1 must come first)" };
  const tags = new Map<string, string>();
  let first = true;
  for (const part of text.split(";")) {
    const entry = part.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    if (eq <= 0) {
      first = false;
      continue;
    }
    // Only the version tag's name is case-insensitive (its own ABNF rule); others are tag-list names.
    const rawName = entry.slice(0, eq).trim();
    const name = first ? rawName.toLowerCase() : rawName;
    first = false;
    if (tags.has(name)) return { ok: false, reason: `duplicate tag ${name.slice(0, 16)}` };
    let value = entry.slice(eq + 1).trim();
    if (CASE_INSENSITIVE.has(name)) value = value.toLowerCase();
    tags.set(name, value);
  }
  const p = asPolicy(tags.get("p"));
  const sp = asPolicy(tags.get("sp"));
  const np = asPolicy(tags.get("np"));
  const pctText = tags.get("pct");
  const pct = pctText !== undefined && /^[0-9]{1,3}$/.test(pctText) && Number(pctText) <= 100 ? Number(pctText) : 100;
  const riText = tags.get("ri");
  const ri = riText !== undefined && /^[0-9]{1,10}$/.test(riText) ? Number(riText) : 86400;
  const fo = (tags.get("fo") ?? "0")
    .split(":")
    .map((o) => o.trim())
    .filter((o) => ["0", "1", "d", "s"].includes(o));
  const psd = tags.get("psd");
  return {
    ok: true,
    record: {
      text,
      p: p ?? undefined,
      sp: sp ?? undefined,
      np: np ?? undefined,
      spInvalid: sp === null,
      npInvalid: np === null,
      adkim: tags.get("adkim") === "s" ? "s" : "r",
      aspf: tags.get("aspf") === "s" ? "s" : "r",
      fo: fo.length > 0 ? fo : ["0"],
      rf: tags.get("rf") ?? "afrf",
      ri,
      pct,
      testing: tags.get("t") === "y",
      psd: psd === "y" || psd === "n" ? psd : "u",
      rua: parseReportUris(tags.get("rua")),
      ruf: parseReportUris(tags.get("ruf")),
    },
  };
}

/** The policy tags a record is applied with; null when it gets no DMARC processing. */
export interface PolicyTags {
  readonly p: Policy;
  readonly sp: Policy | undefined;
  readonly np: Policy | undefined;
}

/**
 * RFC 7489 6.6.3 / RFC 9989 4.10.1: a record without a valid `p` (or with an
 * invalid `sp`/`np`) acts as `p=none` when `rua` holds a valid URI, and gets no
 * DMARC processing otherwise. `np` counts only under RFC 9989.
 */
export function policyTags(record: DmarcRecord, withNp: boolean): PolicyTags | null {
  if (record.p !== undefined && !record.spInvalid && !(withNp && record.npInvalid)) return { p: record.p, sp: record.sp, np: withNp ? record.np : undefined };
  return record.rua.length > 0 ? { p: "none", sp: undefined, np: undefined } : null;
}
