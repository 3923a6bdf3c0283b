/**
 * One list item, parsed into a typed structure (pure: no I/O, no lookups). The syntax is
 * described in index.ts; the rules of the lookup commands are the data table below.
 */
import { parseCidr, type Cidr } from "./ip";

export const ListKind = { Host: "host", Domain: "domain" } as const;
export type ListKind = (typeof ListKind)[keyof typeof ListKind];

export const LookupCommand = { Smembers: "SMEMBERS", Sismember: "SISMEMBER", Hget: "HGET", Get: "GET" } as const;
export type LookupCommand = (typeof LookupCommand)[keyof typeof LookupCommand];

interface CommandRule {
  readonly arity: number;
  /** members: the answer is a set whose members are list items; found: the answer is a yes/no */
  readonly answer: "members" | "found";
  /** whether the tested value ($item) must, or must not, appear in the arguments */
  readonly subject: "required" | "forbidden";
  readonly usage: string;
}

/** The Redis commands a lookup item may use (read-only, one key each). */
export const lookupCommands: Readonly<Record<LookupCommand, CommandRule>> = {
  SMEMBERS: { arity: 1, answer: "members", subject: "forbidden", usage: "SMEMBERS <key>" },
  SISMEMBER: { arity: 2, answer: "found", subject: "required", usage: "SISMEMBER <key> $item" },
  HGET: { arity: 2, answer: "found", subject: "required", usage: "HGET $item <field>" },
  GET: { arity: 1, answer: "found", subject: "required", usage: "GET $item" },
};

/** A lookup argument: literal pieces, with the tested value spliced in where `null` stands. */
export type ArgTemplate = readonly (string | null)[];

export type ItemBody =
  | { readonly kind: "any" }
  | { readonly kind: "cidr"; readonly cidr: Cidr }
  | { readonly kind: "domain"; readonly domain: string }
  | { readonly kind: "suffix"; readonly suffix: string }
  | { readonly kind: "regex"; readonly regex: RegExp }
  | { readonly kind: "primary_hostname" }
  | { readonly kind: "lookup"; readonly source: "redis"; readonly command: LookupCommand; readonly args: readonly ArgTemplate[] };

/** An item as written, whether it starts with `!`, and what it means. */
export type Item = ItemBody & { readonly text: string; readonly negated: boolean };

export interface ParseOptions {
  /** lookup items allowed (default true) */
  readonly lookups?: boolean;
  /** the item is a member of a lookup answer: only plain addresses, CIDRs, domains, wildcards */
  readonly member?: boolean;
}

type Parsed<T> = T | { readonly error: string };

/** Longest regex item accepted, in characters. */
export const MAX_REGEX_LENGTH = 1024;
const MAX_DOMAIN_LENGTH = 253;
const LABEL = /^[\p{L}\p{N}_-]{1,63}$/u;
const VARIABLE = /\$(?:\{([A-Za-z_]+)\}|([A-Za-z_]+))/g;
const REDIS_ITEM = /^redis[;:]([\s\S]*)$/i;
const EXIM_REDIS_ITEM = /^\$\{lookup\s*redis\s*\{([^{}]*)\}\s*\}$/i;
const OTHER_LOOKUP = /^([a-z0-9*_-]+);/i;
/** a quantified group whose body ends in a quantifier: (a+)+, (a*)*, (a{2,})+ */
const NESTED_QUANTIFIER = /[+*}]\)[+*{]/;

/** Lower case, one trailing dot dropped; null when not a plausible domain name. */
export function canonicalDomain(text: string): string | null {
  const d = (text.endsWith(".") ? text.slice(0, -1) : text).toLowerCase();
  if (d === "" || d.length > MAX_DOMAIN_LENGTH) return null;
  return d.split(".").every((label) => LABEL.test(label)) ? d : null;
}

function parseSuffix(rest: string): Parsed<ItemBody> {
  const body = rest.startsWith(".") ? rest.slice(1) : rest;
  const d = canonicalDomain(body);
  if (d === null) return { error: "expected *.domain or *suffix after the asterisk" };
  return { kind: "suffix", suffix: rest.startsWith(".") ? `.${d}` : d };
}

function parseRegex(text: string): Parsed<ItemBody> {
  if (text.length > MAX_REGEX_LENGTH) return { error: `regular expression longer than ${MAX_REGEX_LENGTH} characters` };
  if (NESTED_QUANTIFIER.test(text)) return { error: "nested quantifiers such as (a+)+ can take exponential time; rewrite the pattern" };
  try {
    return { kind: "regex", regex: new RegExp(text, "i") };
  } catch (err) {
    return { error: `invalid regular expression: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function variableAllowed(name: string, kind: ListKind): boolean {
  if (name === "item") return true;
  return kind === ListKind.Domain ? name === "domain" : name === "host" || name === "sender_host_address";
}

function parseArg(token: string, kind: ListKind): Parsed<{ template: ArgTemplate }> {
  const template: (string | null)[] = [];
  let last = 0;
  for (const m of token.matchAll(VARIABLE)) {
    const name = m[1] ?? m[2] ?? "";
    if (!variableAllowed(name, kind)) {
      const own = kind === ListKind.Domain ? "$domain" : "$host";
      return { error: `unknown variable $${name} in a ${kind} list (use $item or ${own})` };
    }
    if (m.index > last) template.push(token.slice(last, m.index));
    template.push(null);
    last = m.index + m[0].length;
  }
  if (last < token.length) template.push(token.slice(last));
  if (template.some((p) => p !== null && p.includes("$"))) return { error: `a lone "$" in ${token} (variables: $item, $domain, $host)` };
  return { template };
}

function isCommand(name: string): name is LookupCommand {
  return Object.hasOwn(lookupCommands, name);
}

/** "SMEMBERS relay_from_ips", "HGET $domain domain": a Redis query of a lookup item. */
export function parseRedisQuery(query: string, kind: ListKind): Parsed<ItemBody> {
  const [name, ...rest] = query.trim().split(/\s+/).filter((t) => t !== "");
  if (name === undefined) return { error: "empty Redis query" };
  const command = name.toUpperCase();
  if (!isCommand(command)) return { error: `unsupported Redis command ${name} (use ${Object.keys(lookupCommands).join(", ")})` };
  const rule = lookupCommands[command];
  if (rest.length !== rule.arity) return { error: `${command} takes ${rule.arity} argument(s): ${rule.usage}` };
  const args: ArgTemplate[] = [];
  for (const token of rest) {
    const a = parseArg(token, kind);
    if ("error" in a) return a;
    args.push(a.template);
  }
  const usesSubject = args.some((a) => a.includes(null));
  if (rule.subject === "forbidden" && usesSubject) return { error: `${command} takes a fixed key (${rule.usage}); its members are the list items` };
  if (rule.subject === "required" && !usesSubject) {
    return { error: `${command} needs the tested value among its arguments (${rule.usage}; $item may be written $${kind === ListKind.Domain ? "domain" : "host"})` };
  }
  return { kind: "lookup", source: "redis", command, args };
}

function parseLookupForm(text: string, kind: ListKind, opts: ParseOptions): Parsed<ItemBody> | null {
  const query = REDIS_ITEM.exec(text)?.[1] ?? EXIM_REDIS_ITEM.exec(text)?.[1];
  const other = OTHER_LOOKUP.exec(text)?.[1];
  if (query === undefined && other === undefined) return null;
  if (opts.member === true) return { error: "lookup items are not allowed in a lookup answer" };
  if (opts.lookups === false) return { error: "lookups are not allowed in this list" };
  if (query === undefined) return { error: `lookup type ${other} is not supported (only redis)` };
  return parseRedisQuery(query, kind);
}

/** A hint for the usual mistakes of host lists. */
function hostItemError(text: string, reason: string): string {
  if (/^[0-9a-f:]*(\/\d*)?$/i.test(text)) {
    return `${reason} (IPv6 in a ':'-separated string: start the list with "<; " or double every colon)`;
  }
  if (/^@/.test(text)) return `${text} is not supported in host lists`;
  if (/[a-z]/i.test(text) && canonicalDomain(text.replace(/^\*\.?/, "")) !== null) {
    return "host names are not supported in host lists (no DNS lookups); use an address or CIDR";
  }
  if (/^(SMEMBERS|SISMEMBER|HGET|GET)\s/i.test(text)) return `${reason} (a redis: item in a ':'-separated string must be written redis;... or redis::...)`;
  return reason;
}

function domainItemError(text: string): string {
  if (text.startsWith("@")) return `${text} is not supported (only @, the primary host name)`;
  if (text.startsWith("+")) return "named lists (+name) are not supported; give the items";
  if (text.startsWith("[")) return "domain literals are not supported in domain lists";
  if (/^(SMEMBERS|SISMEMBER|HGET|GET)\s/i.test(text)) return "not a domain (a redis: item in a ':'-separated string must be written redis;... or redis::...)";
  return "not a domain name, *suffix, ^regex, @ or lookup item";
}

function parseBody(text: string, kind: ListKind, opts: ParseOptions): Parsed<ItemBody> {
  const lookup = parseLookupForm(text, kind, opts);
  if (lookup !== null) return lookup;
  const member = opts.member === true;
  // A set that anyone with write access to Redis could turn into "everybody" is refused.
  if (text === "*") return member ? { error: "* is not allowed in a lookup answer (write it in the list itself)" } : { kind: "any" };
  if (kind === ListKind.Host) {
    const cidr = parseCidr(text);
    return "error" in cidr ? { error: hostItemError(text, cidr.error) } : { kind: "cidr", cidr };
  }
  if (text === "@") return member ? { error: "@ is not allowed in a lookup answer" } : { kind: "primary_hostname" };
  if (text.startsWith("^")) return member ? { error: "regular expressions are not allowed in a lookup answer" } : parseRegex(text);
  if (text.startsWith("*")) return parseSuffix(text.slice(1));
  const domain = canonicalDomain(text);
  return domain === null ? { error: domainItemError(text) } : { kind: "domain", domain };
}

/** Parses one trimmed item of a host or domain list. */
export function parseItem(text: string, kind: ListKind, opts: ParseOptions = {}): Parsed<Item> {
  let rest = text;
  let negated = false;
  if (rest.startsWith("!")) {
    if (opts.member === true) return { error: "negation is not allowed in a lookup answer" };
    negated = true;
    rest = rest.slice(1).trimStart();
    if (rest === "") return { error: 'nothing after "!"' };
  }
  const body = parseBody(rest, kind, opts);
  return "error" in body ? body : { ...body, text, negated };
}
