/**
 * `postern events tail --filter EXPR`: EXPR is KEY=VALUE[,KEY=VALUE...] with
 * KEY one of name, sender, recipient, message (values of one key are ORed, keys
 * ANDed); `--since` takes an ISO 8601 time or a duration back from now (90s,
 * 15m, 2h, 7d). Pure: the caller passes the clock.
 */

export interface TailFilter {
  names: string[];
  senderDomains: string[];
  recipientDomains: string[];
  messageId: string;
}

const KEYS: Record<string, keyof TailFilter> = {
  name: "names",
  event: "names",
  sender: "senderDomains",
  sender_domain: "senderDomains",
  recipient: "recipientDomains",
  recipient_domain: "recipientDomains",
  domain: "recipientDomains",
  message: "messageId",
  message_id: "messageId",
};

/** The combined filter, or a message naming the bad expression. */
export function parseFilterArgs(exprs: readonly string[], base: Partial<TailFilter> = {}): TailFilter | { error: string } {
  const filter: TailFilter = { names: [...(base.names ?? [])], senderDomains: [], recipientDomains: [], messageId: base.messageId ?? "" };
  for (const expr of exprs) {
    for (const part of expr.split(",")) {
      const eq = part.indexOf("=");
      const key = KEYS[part.slice(0, eq).trim().toLowerCase()];
      const value = part.slice(eq + 1).trim();
      if (eq < 0 || key === undefined || value === "") {
        return { error: `--filter ${JSON.stringify(part)}: expected name=PATTERN, sender=DOMAIN, recipient=DOMAIN or message=ID` };
      }
      if (key === "messageId") {
        if (filter.messageId !== "" && filter.messageId !== value) return { error: "--filter: only one message id" };
        filter.messageId = value;
      } else filter[key].push(value);
    }
  }
  return filter;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO 8601 time, or a duration before `now` such as 90s, 15m, 2h, 7d. */
export function parseSince(value: string, now: Date): Date | { error: string } {
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * (UNIT_MS[relative[2] ?? "s"] ?? 1000));
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const time = new Date(value);
    if (!Number.isNaN(time.getTime())) return time;
  }
  return { error: `--since ${JSON.stringify(value)}: expected an ISO 8601 time (2026-11-27T10:00:00Z) or a duration (90s, 15m, 2h, 7d)` };
}
