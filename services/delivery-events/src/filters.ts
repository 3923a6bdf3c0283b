/**
 * Which events a subscriber, webhook endpoint or sink wants: event name
 * patterns, sender domains, recipient (delivery) domains and a message id.
 * Each list is an OR; the lists are ANDed; an empty list means "any".
 * Pure: no I/O, no clock.
 */
import type { Event } from "@postern/proto";
import { isValidEventPattern, matchesEventPattern } from "./event-names";

export interface EventFilter {
  names: readonly string[];
  senderDomains: readonly string[];
  recipientDomains: readonly string[];
  messageId: string;
}

export const matchAll: EventFilter = { names: [], senderDomains: [], recipientDomains: [], messageId: "" };

const DOMAIN = /^(?:\*\.)?(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?$/;

/** "example.org", "Example.ORG." or "*.example.org" (subdomains only, not the apex). */
export function isValidDomainPattern(pattern: string): boolean {
  return pattern.length > 0 && pattern.length <= 255 && DOMAIN.test(pattern.toLowerCase());
}

function normaliseDomain(domain: string): string {
  return domain.toLowerCase().replace(/\.$/, "");
}

/** Case-insensitive; a trailing dot is ignored; "*.example.org" matches "a.example.org" and "a.b.example.org". */
export function matchesDomainPattern(pattern: string, domain: string): boolean {
  const want = normaliseDomain(pattern);
  const have = normaliseDomain(domain);
  if (have === "") return false;
  if (want.startsWith("*.")) return have.endsWith(want.slice(1));
  return have === want;
}

/** The domain of an address ("A@Example.org" -> "example.org"); "" for the null sender or no "@". */
export function addressDomain(address: string): string {
  const at = address.lastIndexOf("@");
  return at < 0 ? "" : normaliseDomain(address.slice(at + 1));
}

/** The first problem with `filter`, or undefined when it is usable. */
export function filterProblem(filter: EventFilter): string | undefined {
  const name = filter.names.find((n) => !isValidEventPattern(n));
  if (name !== undefined) return `invalid event pattern ${JSON.stringify(name)}`;
  const domain = [...filter.senderDomains, ...filter.recipientDomains].find((d) => !isValidDomainPattern(d));
  if (domain !== undefined) return `invalid domain ${JSON.stringify(domain)}`;
  if (filter.messageId.length > 1024) return "message_id is longer than 1024 characters";
  return undefined;
}

export function matchesFilter(filter: EventFilter, event: Event): boolean {
  if (filter.names.length > 0 && !filter.names.some((p) => matchesEventPattern(p, event.name))) return false;
  if (filter.messageId !== "" && event.messageId !== filter.messageId) return false;
  if (filter.senderDomains.length > 0) {
    const domain = addressDomain(event.senderAddress);
    if (!filter.senderDomains.some((p) => matchesDomainPattern(p, domain))) return false;
  }
  if (filter.recipientDomains.length > 0 && !filter.recipientDomains.some((p) => matchesDomainPattern(p, event.deliveryDomain))) return false;
  return true;
}

/** A stable form for comparing and storing filters (sorted, lower-cased domains). */
export function canonicalFilter(filter: EventFilter): EventFilter {
  const domains = (list: readonly string[]): string[] => [...new Set(list.map(normaliseDomain))].sort();
  return {
    names: [...new Set(filter.names)].sort(),
    senderDomains: domains(filter.senderDomains),
    recipientDomains: domains(filter.recipientDomains),
    messageId: filter.messageId,
  };
}

export function sameFilter(a: EventFilter, b: EventFilter): boolean {
  return JSON.stringify(canonicalFilter(a)) === JSON.stringify(canonicalFilter(b));
}

export function isEmptyFilter(filter: EventFilter): boolean {
  return filter.names.length === 0 && filter.senderDomains.length === 0 && filter.recipientDomains.length === 0 && filter.messageId === "";
}
