/**
 * Exim list splitting (Exim spec, "Lists"): the default separator is `:`; a list that starts
 * with `<` followed by a punctuation or control character uses that character instead
 * (`<; 2001:db8::/32 ; 192.0.2.0/24`, `<, a, b`, `<\n` for one item per line). A doubled
 * separator stands for one literal separator character (`::1` in a `:` list is `:1`, which is
 * why IPv6 wants `<;`). Items are trimmed; empty items are dropped (Exim ignores a trailing
 * one; an empty item elsewhere would match only a locally submitted message, which Postern
 * does not have). An array (YAML) is already split: its elements are only trimmed.
 */

/** A list as configuration gives it. */
export type ListInput = string | readonly string[];

/** One item and its 1-based position among the non-empty items, for error messages. */
export interface ListItem {
  readonly text: string;
  readonly position: number;
}

function isSeparatorChar(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code < 0x20 || code === 0x7f) return true; // control characters: `<\n`
  // ASCII punctuation, as C's ispunct()
  return (code >= 0x21 && code <= 0x2f) || (code >= 0x3a && code <= 0x40) || (code >= 0x5b && code <= 0x60) || (code >= 0x7b && code <= 0x7e);
}

/** The separator a string list uses and where its items start. */
export function listSeparator(list: string): { separator: string; start: number } {
  const lead = list.length - list.trimStart().length;
  const c = list[lead + 1];
  if (list[lead] === "<" && c !== undefined && isSeparatorChar(c)) return { separator: c, start: lead + 2 };
  return { separator: ":", start: lead };
}

function splitString(list: string): string[] {
  const { separator, start } = listSeparator(list);
  const items: string[] = [];
  let current = "";
  for (let i = start; i < list.length; i++) {
    const c = list[i] as string;
    if (c !== separator) {
      current += c;
    } else if (list[i + 1] === separator) {
      current += separator;
      i++;
    } else {
      items.push(current);
      current = "";
    }
  }
  items.push(current);
  return items;
}

/** The non-empty, trimmed items of a list, in order. */
export function listItems(list: ListInput): ListItem[] {
  const raw = typeof list === "string" ? splitString(list) : list;
  const out: ListItem[] = [];
  for (const r of raw) {
    const text = r.trim();
    if (text !== "") out.push({ text, position: out.length + 1 });
  }
  return out;
}

/** The items as strings: `splitList("<; ::1 ; 10.0.0.0/8")` is `["::1", "10.0.0.0/8"]`. */
export function splitList(list: ListInput): string[] {
  return listItems(list).map((i) => i.text);
}
