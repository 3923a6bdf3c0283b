/**
 * Recipient policy: who may send to which domain. No open relay, ever: a
 * recipient is accepted only for a local or relay domain, or from a relay
 * host; a failed lookup is a temporary failure, never an acceptance.
 *
 * The lists are @postern/hostlist lists, tried in order: local_domains,
 * relay_to_domains (the recipient's domain), relay_from_hosts (the client's
 * address). The first that matches accepts. A list whose lookup failed
 * ("defer") does not stop the others: a later list may still accept (a relay
 * host is not held up by a Redis outage); when none does, the answer is the
 * deferral (451 4.3.0), never a denial that a working lookup might have
 * turned into an acceptance.
 *
 * Sender-specified routing (Postfix's allow_untrusted_routing): a local part
 * with "%", "!" or a quoted "@" (user%other.example@localhost,
 * other.example!user@localhost, "user@other.example"@localhost) names a
 * further destination that some MTA or mailer on the way may act on. From a
 * client that is neither authenticated (the adapter asks no policy then) nor
 * in relay_from_hosts it is refused like a relay attempt, even for a local
 * domain: only relay_from_hosts can accept it.
 */
import { type CompiledList, type HostlistLookupError } from "@postern/hostlist";

export type RcptVerdict =
  | { result: "accepted"; reason: "postmaster" | "local_domain" | "relay_domain" | "relay_host"; item?: string }
  | { result: "denied" }
  | { result: "tempfail"; err: HostlistLookupError; list: string };

export interface PolicyOptions {
  localDomains: CompiledList;
  relayDomains: CompiledList;
  relayFromHosts: CompiledList;
}

export type RecipientPolicy = (domain: string, clientIp: string, opts?: { localPart?: string }) => Promise<RcptVerdict>;

/** The local part routes further: "%" hack, "!" bang path, or an "@" inside quotes. */
export function hasSenderRouting(localPart: string): boolean {
  return /[%!@]/.test(localPart);
}

/** The domain "" is RCPT TO:<Postmaster> (RFC 5321 4.5.1), always accepted. */
export function recipientPolicy(o: PolicyOptions & { allowUntrustedRouting?: boolean }): RecipientPolicy {
  const steps = [
    { list: o.localDomains, name: "local_domains", reason: "local_domain", subject: "domain" },
    { list: o.relayDomains, name: "relay_to_domains", reason: "relay_domain", subject: "domain" },
    { list: o.relayFromHosts, name: "relay_from_hosts", reason: "relay_host", subject: "ip" },
  ] as const;
  const hostsOnly = steps.filter((s) => s.subject === "ip");
  return async (domain, clientIp, opts) => {
    if (domain === "") return { result: "accepted", reason: "postmaster" };
    const routed = o.allowUntrustedRouting !== true && opts?.localPart !== undefined && hasSenderRouting(opts.localPart);
    let deferred: RcptVerdict | undefined;
    for (const s of routed ? hostsOnly : steps) {
      const r = await s.list.match(s.subject === "domain" ? domain : clientIp);
      if (r.result === "match") return { result: "accepted", reason: s.reason, item: r.item };
      if (r.result === "defer") deferred ??= { result: "tempfail", err: r.error, list: s.name };
    }
    return deferred ?? { result: "denied" };
  };
}
