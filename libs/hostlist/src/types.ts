/**
 * The injected lookup interface and the result of evaluating a list.
 */
import type { HostlistLookupError } from "./errors";
import type { LookupCommand } from "./items";

/** One read-only query, arguments already substituted (one array element per argument). */
export interface LookupQuery {
  readonly command: LookupCommand;
  readonly args: readonly string[];
}

/**
 * SMEMBERS answers the set's members; SISMEMBER, HGET and GET answer whether the key check
 * succeeded (SISMEMBER 1; HGET/GET a non-empty value).
 */
export type LookupReply = readonly string[] | boolean;

/** What answers lookup items. Throws when it cannot answer; the list result is then "defer". */
export interface Lookup {
  query(q: LookupQuery): Promise<LookupReply>;
}

/**
 * Exim semantics: items are tried left to right and the first that matches decides; a
 * negated item that matches gives "nomatch" (`item` names it), no matching item gives
 * "nomatch" with `item: null`. A lookup that fails before anything matched gives "defer":
 * neither a match nor a no-match (the edge answers 451).
 */
export type ListResult =
  | {
      readonly result: "match";
      /** the list item that matched, as written */
      readonly item: string;
      /** for an SMEMBERS item, the member that matched */
      readonly member?: string;
    }
  | { readonly result: "nomatch"; readonly item: string | null; readonly member?: string }
  | { readonly result: "defer"; readonly item: string; readonly error: HostlistLookupError };
