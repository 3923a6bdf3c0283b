import { randomFillSync } from "node:crypto";

/** octets drawn from the CSPRNG at a time: one call per 256 txn ids instead of one per id (as crypto.randomUUID buffers) */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let used = POOL_SIZE;

/**
 * `n` (≤ 4096) fresh octets from the CSPRNG, as unpredictable as randomBytes(n)
 * but taken from a pooled buffer. The result is a view into the pool: use it
 * at once (toString, read*), never keep it.
 */
export function randomOctets(n: number): Buffer {
  if (used + n > POOL_SIZE) {
    randomFillSync(pool);
    used = 0;
  }
  const out = pool.subarray(used, used + n);
  used += n;
  return out;
}
