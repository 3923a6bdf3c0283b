/**
 * zod schemas for configuration: a list option accepts an Exim list string or an array, checks
 * every item at start-up (errors name the bad item) and outputs the items as an array, ready
 * for hostList()/domainList()/createRedisLookup(). Arrays are not split again, so the output
 * means the same as the input.
 */
import { z } from "zod";
import { quoteItem } from "./errors";
import { ListKind, parseItem } from "./items";
import { parseRedisServer, redactServer, redisServerItems } from "./redis-servers";
import { type ListItem, listItems } from "./split";

export interface ListSchemaOptions {
  /** lookup items allowed (default true); e.g. false for hosts_proxy, consulted at accept time */
  readonly lookups?: boolean;
  /** fewest items (default 0) */
  readonly min?: number;
}

const listInput = z.union([z.string(), z.array(z.string())]);

interface Check {
  readonly what: string;
  readonly min?: number;
  readonly check: (text: string) => { error: string } | null;
  /** the item as shown in messages */
  readonly show?: (text: string) => string;
  readonly items?: (input: string | string[]) => ListItem[];
}

function checked({ what, min = 0, check, show = (t) => t, items: split = listItems }: Check) {
  return listInput.transform((input, ctx) => {
    const items = split(input);
    for (const { text, position } of items) {
      const bad = check(text);
      if (bad !== null) ctx.addIssue({ code: "custom", input, message: `bad ${what} item ${quoteItem(show(text))} (item ${position}): ${bad.error}` });
    }
    if (items.length < min) ctx.addIssue({ code: "custom", input, message: `${what} needs at least ${min} item(s)` });
    return items.map((i) => i.text);
  });
}

function listSchema(kind: ListKind, opts: ListSchemaOptions) {
  return checked({
    what: `${kind} list`,
    ...(opts.min === undefined ? {} : { min: opts.min }),
    check: (text) => {
      const parsed = parseItem(text, kind, { lookups: opts.lookups ?? true });
      return "error" in parsed ? parsed : null;
    },
  });
}

/** A host list option (relay_from_hosts, hosts_proxy): `"127.0.0.1 : 10.0.0.0/8"`, `"<; ::1 ; 2001:db8::/32"` or an array. */
export function hostListSchema(opts: ListSchemaOptions = {}) {
  return listSchema(ListKind.Host, opts);
}

/** A domain list option (local_domains, relay_to_domains): `"@ : example.com : *.example.net : ^mx\\d+\\."` or an array. */
export function domainListSchema(opts: ListSchemaOptions = {}) {
  return listSchema(ListKind.Domain, opts);
}

/** redis_servers: `host[:port]/db/password` items or redis:// URLs (passwords are redacted in errors). At least one item. */
export function redisServersSchema() {
  return checked({
    what: "redis_servers",
    min: 1,
    check: (text) => {
      const s = parseRedisServer(text);
      return "error" in s ? s : null;
    },
    show: redactServer,
    items: redisServerItems,
  });
}
