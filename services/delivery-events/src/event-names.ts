/**
 * Event names follow Exim's event_action: colon-separated lower-case parts
 * ("msg:rcpt:host:defer"). Subscription patterns use NATS wildcard rules on
 * those parts: `*` matches exactly one part, `>` (last) matches one or more.
 */

const EVENT_NAME = /^[a-z][a-z0-9_-]*(?::[a-z][a-z0-9_-]*)*$/;
const PATTERN_PART = /^(?:[a-z][a-z0-9_-]*|\*|>)$/;

export function isValidEventName(name: string): boolean {
  return name.length <= 128 && EVENT_NAME.test(name);
}

export function isValidEventPattern(pattern: string): boolean {
  const parts = pattern.split(":");
  return (
    pattern.length <= 128 &&
    parts.every((part) => PATTERN_PART.test(part)) &&
    parts.every((part, i) => part !== ">" || i === parts.length - 1)
  );
}

export function matchesEventPattern(pattern: string, name: string): boolean {
  const want = pattern.split(":");
  const have = name.split(":");
  for (let i = 0; i < want.length; i++) {
    const part = want[i];
    if (part === ">") return have.length > i;
    if (i >= have.length) return false;
    if (part !== "*" && part !== have[i]) return false;
  }
  return want.length === have.length;
}

