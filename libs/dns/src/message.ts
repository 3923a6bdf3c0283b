/** Query encoding and strict response matching (RFC 1035 7.3, RFC 5452 9.1). */
import { randomInt } from "node:crypto";
import * as packet from "dns-packet";
import { sameName } from "./names";
import { screenMessage } from "./screen";
import type { Query } from "./types";

/** Advertised EDNS0 UDP payload size (RFC 6891; the DNS Flag Day 2020 value). */
export const EDNS_UDP_SIZE = 1232;

/** A decoded DNS message; dns-packet sets `rcode` and `opcode` but its types omit them. */
export type Message = packet.DecodedPacket & { readonly rcode?: string; readonly opcode?: string };

/** A fresh, unpredictable 16-bit query ID (RFC 5452 9.2). */
export function newQueryId(): number {
  return randomInt(0, 0x10000);
}

/**
 * Encodes a recursive query: RD set, AD set to ask for the AD bit (RFC 6840 5.7), CD never
 * set, and an OPT record with the DO bit and a 1232-octet UDP size (RFC 6891, RFC 4035 3.2.1).
 */
export function encodeQuery(id: number, query: Query): Buffer {
  return packet.encode({
    type: "query",
    id,
    flags: packet.RECURSION_DESIRED | packet.AUTHENTIC_DATA,
    questions: [{ name: query.name, type: query.type, class: "IN" }],
    additionals: [
      { type: "OPT", name: ".", udpPayloadSize: EDNS_UDP_SIZE, flags: packet.DNSSEC_OK, extendedRcode: 0, ednsVersion: 0, flag_do: true, options: [] },
    ],
  });
}

/**
 * Decodes a response; null when the bytes are not a DNS message (hostile or corrupt input),
 * which the transports count and ignore like any other undecodable datagram.
 *
 * SECURITY: screenMessage (screen.ts) runs first and refuses shapes that would cost
 * dns-packet more than a bounded amount of work (compression pointer chains and loops,
 * names re-read thousands of times, counts that cannot fit). After decoding, dns-packet must
 * have stopped exactly where the screen's walk did; if not, the two disagree about the
 * record boundaries (a dns-packet change the screen does not mirror) and the message is
 * refused rather than trusted.
 */
export function decodeMessage(bytes: Buffer): Message | null {
  const screen = screenMessage(bytes);
  if (!screen.ok) return null;
  try {
    const msg = packet.decode(bytes);
    return (packet.decode as unknown as { bytes: number }).bytes === screen.end ? msg : null;
  } catch {
    return null;
  }
}

/**
 * True when `msg` is the response to the query we sent: QR set, opcode QUERY, our ID, and
 * exactly our question (name compared case-insensitively, same type, class IN). Anything
 * else is ignored by the transports, which keep waiting until their timeout.
 */
export function matchesQuery(msg: Message, id: number, query: Query): boolean {
  if (!msg.flag_qr || msg.id !== id || (msg.opcode ?? "QUERY") !== "QUERY") return false;
  const questions = msg.questions ?? [];
  const q = questions[0];
  if (questions.length !== 1 || q === undefined) return false;
  return q.type === query.type && (q.class ?? "IN") === "IN" && sameName(q.name, query.name);
}
