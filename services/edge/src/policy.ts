/**
 * Recipient policy: who may send to which domain. No open relay, ever: a
 * recipient is accepted only for a local or relay domain, or from a relay
 * host; a failed lookup is a temporary failure, never an acceptance.
 */
import { type HostList } from "./hosts";

export type RcptVerdict =
  | { result: "accepted"; reason: "postmaster" | "local_domain" | "relay_domain" | "relay_host" | "redis_domain" }
  | { result: "denied" }
  | { result: "tempfail"; err: unknown };

export interface PolicyOptions {
  localDomains: readonly string[];
  relayDomains: readonly string[];
  relayFromHosts: HostList;
  /** extra local domains from a lookup (Redis); throws on lookup failure */
  isLocalDomain?: (domain: string) => Promise<boolean>;
}

export type RecipientPolicy = (domain: string, clientIp: string) => Promise<RcptVerdict>;

/**
 * Static lists first, then the relay hosts (a relay host may send anywhere, so
 * its answer cannot depend on a lookup), then the lookup. The domain "" is
 * RCPT TO:<Postmaster> (RFC 5321 4.5.1), always accepted.
 */
export function recipientPolicy(o: PolicyOptions): RecipientPolicy {
  const local = new Set(o.localDomains.map((d) => d.toLowerCase()));
  const relay = new Set(o.relayDomains.map((d) => d.toLowerCase()));
  return async (domain, clientIp) => {
    const d = domain.toLowerCase();
    if (d === "") return { result: "accepted", reason: "postmaster" };
    if (local.has(d)) return { result: "accepted", reason: "local_domain" };
    if (relay.has(d)) return { result: "accepted", reason: "relay_domain" };
    if (o.relayFromHosts.has(clientIp)) return { result: "accepted", reason: "relay_host" };
    if (o.isLocalDomain !== undefined) {
      try {
        if (await o.isLocalDomain(d)) return { result: "accepted", reason: "redis_domain" };
      } catch (err) {
        return { result: "tempfail", err };
      }
    }
    return { result: "denied" };
  };
}
