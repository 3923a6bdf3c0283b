/**
 * The per-recipient data policy (Exim's acl_smtp_data_prdr idea): after the
 * message content, each recipient may be accepted, deferred or rejected on
 * its own. Today's policy is two configured address lists
 * (prdr_reject_recipients, prdr_defer_recipients; exact addresses, compared
 * case-insensitively), e.g. mailboxes that are closed or being migrated.
 *
 * How it is applied:
 * - MAIL with PRDR and several accepted recipients: after the content, 353,
 *   one reply per recipient (250 / 450 / 550 "PRDR R=<...>") and the final
 *   reply; the MAIL record holds only the accepted recipients.
 * - MAIL with PRDR and one recipient: the usual single reply, that
 *   recipient's verdict (250, 451 4.7.1 or 550 5.7.1), as Exim does.
 * - MAIL without PRDR: the same verdicts are given at RCPT time instead (550
 *   5.7.1 or 450 4.7.1 for that recipient), so the client learns each
 *   recipient's fate exactly once and the outcome does not depend on PRDR.
 *   (A content-dependent policy could not do this and would have to defer.)
 */
import { reply, type Reply } from "@postern/smtp";

export type RecipientDataVerdict = "accept" | "defer" | "reject";
export type RecipientDataPolicy = (address: string) => RecipientDataVerdict;

export function recipientDataPolicy(o: { reject: readonly string[]; defer: readonly string[] }): RecipientDataPolicy {
  const reject = new Set(o.reject.map((a) => a.toLowerCase()));
  const defer = new Set(o.defer.map((a) => a.toLowerCase()));
  return (address) => {
    const a = address.toLowerCase();
    if (reject.has(a)) return "reject";
    if (defer.has(a)) return "defer";
    return "accept";
  };
}

/** The RCPT reply for a verdict given at RCPT time (no PRDR); null for "accept". */
export function rcptReplyFor(v: RecipientDataVerdict, address: string): Reply | null {
  if (v === "reject") return reply(550, "5.7.1", `<${address}>: recipient refused by policy`);
  if (v === "defer") return reply(450, "4.7.1", `<${address}>: recipient temporarily refused by policy`);
  return null;
}

/** The single end-of-data reply for a PRDR transaction with one recipient that is not accepted. */
export function dataReplyFor(v: Exclude<RecipientDataVerdict, "accept">, address: string): Reply {
  return v === "reject" ? reply(550, "5.7.1", `<${address}>: message refused by policy`) : reply(451, "4.7.1", `<${address}>: message temporarily refused by policy`);
}
