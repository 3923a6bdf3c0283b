/**
 * The chaos test's accounting rule (docs/adr/0007-chaos-accounting.md), kept apart from
 * the processes so that it has table tests of its own.
 *
 * Only messages whose DATA got "250 ... id=<queue id>" are judged. Each one must end as:
 *   - delivered once (its X-Chaos-Id seen once at the sink), or
 *   - delivered more than once AND a msg:delivery event of that queue id carries
 *     possible_duplicate=true (dane-outbound crashed after the server took the message
 *     and before its state write: RFC 1047's window, which no SMTP client can close), or
 *   - not delivered AND an event of that queue id says why (a failure: msg:fail:*,
 *     msg:rcpt:fail*, msg:bounce*; a defer alone is not a reason: it promises a retry).
 * Anything else is a violation: "lost" (no copy, no reason) or "duplicate" (an
 * unflagged extra copy). Messages without a 250 may be absent, present or repeated.
 */

export interface EventSummary {
  /** event names seen for the queue id, in stream order */
  names: string[];
  /** a msg:delivery event with possible_duplicate=true was seen */
  possibleDuplicate: boolean;
}

export interface Tracked {
  /** the test's own id (X-Chaos-Id and Message-ID local part) */
  chaosId: string;
  /** the edge's queue id from "250 2.0.0 OK id=..." */
  queueId: string;
}

export type Verdict =
  | { ok: true; how: "once" | "flagged-duplicate" | "explained" }
  | { ok: false; how: "lost" | "duplicate"; detail: string };

/** Events that explain why an acknowledged message was not delivered. */
export function explainsAbsence(name: string): boolean {
  return /^msg:(?:fail(?::|$)|rcpt:fail|bounce|dsn:fail|dead_letter|dead-letter)/.test(name);
}

export function judge(t: Tracked, copies: number, events: EventSummary | undefined): Verdict {
  if (copies === 1) return { ok: true, how: "once" };
  if (copies > 1) {
    if (events?.possibleDuplicate === true) return { ok: true, how: "flagged-duplicate" };
    return { ok: false, how: "duplicate", detail: `${t.chaosId} (id=${t.queueId}) delivered ${copies} times without a possible_duplicate event; events: ${events?.names.join(" ") ?? "none"}` };
  }
  const reason = events?.names.find(explainsAbsence);
  if (reason !== undefined) return { ok: true, how: "explained" };
  return { ok: false, how: "lost", detail: `${t.chaosId} (id=${t.queueId}) got a 250 but was never delivered and no event explains it; events: ${events?.names.join(" ") ?? "none"}` };
}
