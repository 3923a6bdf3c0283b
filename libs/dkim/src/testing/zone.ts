/**
 * An in-memory DkimDns for tests, tools and benchmarks: TXT records by name
 * (case-insensitive, trailing dot ignored), injectable failures, and a log of
 * the names asked for.
 */
import type { DkimDns, DkimTxtOutcome } from "../types";

/**
 * One TXT record (a string, or `{ strings }` for a record split into several
 * character-strings), or `{ fail }`: the outcome the name answers with.
 */
export type DkimZoneRecord = string | { readonly strings: readonly string[] };
export type DkimZoneEntry = DkimZoneRecord | readonly DkimZoneRecord[] | { readonly fail: "timeout" | "servfail" | "nodata" | "refused" };

export interface DkimZone extends DkimDns {
  /** Names queried, in order. */
  readonly queries: string[];
}

const norm = (name: string): string => name.toLowerCase().replace(/\.$/, "");

export function createDkimZone(records: Readonly<Record<string, DkimZoneEntry>>): DkimZone {
  const zone = new Map<string, DkimZoneEntry>();
  for (const [name, entry] of Object.entries(records)) zone.set(norm(name), entry);
  const queries: string[] = [];
  const answer = (entry: DkimZoneEntry): DkimTxtOutcome => {
    if (typeof entry === "object" && "fail" in entry) return { kind: entry.fail };
    const list: readonly DkimZoneRecord[] = Array.isArray(entry) ? (entry as readonly DkimZoneRecord[]) : [entry as DkimZoneRecord];
    if (list.length === 0) return { kind: "nodata" };
    return { kind: "answer", records: list.map((r) => (typeof r === "string" ? [r] : [...r.strings])) };
  };
  return {
    queries,
    txt(name: string): Promise<DkimTxtOutcome> {
      queries.push(name);
      const entry = zone.get(norm(name));
      return Promise.resolve(entry === undefined ? { kind: "nxdomain" } : answer(entry));
    },
  };
}
