import { randomOctets } from "./random";

/**
 * A unique message id that sorts by reception time: milliseconds since the
 * epoch in base 36 (9 digits, good until the year 5188), "-", then 64 random
 * bits in base 36 (13 digits). Safe as a NATS msgID and an object name.
 */
export function newMessageId(now: number = Date.now()): string {
  const time = now.toString(36).padStart(9, "0");
  const rand = randomOctets(8).readBigUInt64BE().toString(36).padStart(13, "0");
  return `${time}-${rand}`;
}
