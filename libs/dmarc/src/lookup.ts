/**
 * The resolver wrapper every DMARC query goes through: a per-evaluation cache
 * (tree walks for one message share most names), a cap on queries, an
 * optional deadline, and the mapping of DNS outcomes to "record / none /
 * error". Limits live here, not in the discovery code (as libspf's LimitedDns).
 */
import { type DmarcDns, type DmarcQueryType } from "./dns";
import { DmarcDnsError, DmarcInternalError, DmarcLimitError, dmarcLimitKinds } from "./errors";
import { type DmarcRecord, isDmarcRecord, parseRecord, type RecordParse } from "./record";

export type RecordLookup =
  | { readonly kind: "record"; readonly record: DmarcRecord }
  | { readonly kind: "none" }
  /** more than one DMARC record at the name */
  | { readonly kind: "multiple" }
  /** one DMARC record whose tag-list is invalid */
  | { readonly kind: "invalid"; readonly reason: string };

export interface LookupLimits {
  /** queries per evaluation (the tree walk itself is capped at 8 by construction) */
  readonly maxQueries: number;
  /** tree walks for relaxed alignment per message (RFC 9989 mode) */
  readonly maxAlignmentWalks: number;
}

export const defaultLookupLimits: LookupLimits = { maxQueries: 64, maxAlignmentWalks: 10 };

export interface QueryLog {
  readonly type: DmarcQueryType;
  readonly name: string;
}

/** At most 253 characters of labels of 1 to 63 (as split(".").every(...), without the array). */
export function validName(name: string): boolean {
  if (name.length > 253) return false;
  let from = 0;
  for (;;) {
    const dot = name.indexOf(".", from);
    const len = (dot < 0 ? name.length : dot) - from;
    if (len === 0 || len > 63) return false;
    if (dot < 0) return true;
    from = dot + 1;
  }
}

/** Parsed records kept by their text: a busy receiver sees the same few records all day. */
export const RECORD_CACHE_SIZE = 1000;
const parsedRecords = new Map<string, RecordParse>();

/**
 * parseRecord through a bounded cache keyed by the record text. Records are
 * shared between evaluations, so they are frozen (no caller may change one).
 * Cleared when full: hostile domains can only make us parse again, as before.
 */
export function parseRecordCached(text: string): RecordParse {
  const hit = parsedRecords.get(text);
  if (hit !== undefined) return hit;
  const parsed = parseRecord(text);
  if (parsed.ok) {
    Object.freeze(parsed.record.fo);
    Object.freeze(parsed.record.rua);
    Object.freeze(parsed.record.ruf);
    Object.freeze(parsed.record);
  }
  if (parsedRecords.size >= RECORD_CACHE_SIZE) parsedRecords.clear();
  parsedRecords.set(text, parsed);
  return parsed;
}

export class DmarcLookup {
  private readonly records = new Map<string, Promise<RecordLookup>>();
  private readonly existence = new Map<string, Promise<boolean>>();
  readonly queries: QueryLog[] = [];

  constructor(
    private readonly dns: DmarcDns,
    private readonly limits: LookupLimits = defaultLookupLimits,
    private readonly signal?: AbortSignal,
  ) {}

  private async query<T>(type: DmarcQueryType, name: string, run: () => Promise<T>): Promise<T> {
    if (this.signal?.aborted) throw new DmarcLimitError(dmarcLimitKinds.deadline, "DMARC check deadline reached");
    if (this.queries.length >= this.limits.maxQueries) throw new DmarcLimitError(dmarcLimitKinds.queries, `more than ${this.limits.maxQueries} DNS queries`);
    this.queries.push({ type, name });
    try {
      return await run();
    } catch (err) {
      if (err instanceof DmarcDnsError || err instanceof DmarcLimitError) throw err;
      throw new DmarcInternalError(`resolver failed for ${name} ${type}`, { cause: err });
    }
  }

  /** The DMARC record at _dmarc.<domain>. Throws DmarcDnsError on SERVFAIL/timeout. */
  record(domain: string): Promise<RecordLookup> {
    let p = this.records.get(domain);
    if (p === undefined) {
      p = this.fetchRecord(domain);
      this.records.set(domain, p);
    }
    return p;
  }

  private async fetchRecord(domain: string): Promise<RecordLookup> {
    const name = `_dmarc.${domain}`;
    if (!validName(name)) return { kind: "none" };
    return this.query("TXT", name, async () => {
      const outcome = await this.dns.txt(name);
      switch (outcome.kind) {
        case "nxdomain":
        case "nodata":
          return { kind: "none" };
        case "servfail":
        case "timeout":
          throw new DmarcDnsError(name, "TXT", outcome.kind);
        case "answer": {
          const texts = outcome.records.map((strings) => strings.join("").trim()).filter(isDmarcRecord);
          if (texts.length === 0) return { kind: "none" };
          if (texts.length > 1) return { kind: "multiple" };
          const parsed = parseRecordCached(texts[0] as string);
          return parsed.ok ? { kind: "record", record: parsed.record } : { kind: "invalid", reason: parsed.reason };
        }
      }
    });
  }

  /** Whether a domain exists: only NXDOMAIN says it does not (RFC 9989 `np`, RFC 8020). */
  exists(domain: string): Promise<boolean> {
    let p = this.existence.get(domain);
    if (p === undefined) {
      p = validName(domain)
        ? this.query("A", domain, async () => {
            const outcome = await this.dns.a(domain);
            if (outcome.kind === "servfail" || outcome.kind === "timeout") throw new DmarcDnsError(domain, "A", outcome.kind);
            return outcome.kind !== "nxdomain";
          })
        : Promise.resolve(false);
      this.existence.set(domain, p);
    }
    return p;
  }
}
