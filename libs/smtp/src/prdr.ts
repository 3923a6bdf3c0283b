/**
 * PRDR (draft-hall-prdr-00, as Exim implements it): after the content of a
 * transaction whose MAIL carried PRDR and that has more than one accepted
 * recipient, the server answers
 *
 *   353 PRDR content analysis beginning
 *   one reply per accepted recipient, in RCPT order
 *   the final reply
 *
 * in one write. The final reply is positive when at least one recipient was
 * accepted, and only then; prdrFinalReply() computes it.
 */
import { formatServerReply, type Reply, reply } from "./reply";

const positive = (r: Reply): boolean => r.code >= 200 && r.code < 300;
const finalCode = (r: Reply): boolean => (r.code >= 200 && r.code < 300) || (r.code >= 400 && r.code < 600);

/**
 * The final reply for these per-recipient replies: 250 when any recipient was
 * accepted ("accepted for some recipients" when not all were), else 450 when
 * any was deferred (it may still be delivered later), else 550.
 */
export function prdrFinalReply(recipientReplies: readonly Reply[], id?: string): Reply {
  const idText = id === undefined ? "" : ` id=${id}`;
  const accepted = recipientReplies.filter(positive).length;
  if (accepted > 0) {
    const some = accepted < recipientReplies.length ? " for some recipients" : "";
    return reply(250, "2.0.0", `OK${idText} message accepted${some}`);
  }
  if (recipientReplies.some((r) => r.code >= 400 && r.code < 500)) {
    return reply(450, "4.0.0", "Message temporarily rejected for all recipients");
  }
  return reply(550, "5.0.0", "Message rejected for all recipients");
}

/** Why these replies cannot answer a PRDR transaction with `count` recipients; null when they can. */
export function checkPrdrReplies(count: number, recipientReplies: readonly Reply[], final: Reply): string | null {
  if (recipientReplies.length !== count) return `${recipientReplies.length} recipient replies for ${count} recipients`;
  if (!recipientReplies.every(finalCode) || !finalCode(final)) return "PRDR replies must be 2xx, 4xx or 5xx";
  if (positive(final) !== recipientReplies.some(positive)) return "the final reply must be 2xx exactly when a recipient was accepted";
  return null;
}

/** 353, the recipient replies and the final reply, formatted. */
export function formatPrdrResponse(start: Reply, recipientReplies: readonly Reply[], final: Reply): string {
  return [start, ...recipientReplies, final].map(formatServerReply).join("");
}
