/**
 * When to try a failed webhook delivery again: exponential backoff with
 * "equal jitter" (half the delay fixed, half random, so endpoints that failed
 * together do not come back in lock-step), for up to retry_for after the event
 * was stored; after that the event goes to the dead-letter stream.
 * Pure: the caller passes the clock and the random source.
 */

export interface RetryPolicy {
  /** Delay after the first failure (before jitter). */
  initialDelayMs: number;
  /** Upper bound of any one delay. */
  maxDelayMs: number;
  /** How long after the event was stored it is still retried. */
  retryForMs: number;
}

export type RetryDecision = { kind: "retry"; delayMs: number } | { kind: "dead-letter" };

/** initial * 2^(failures-1), capped at maxDelayMs; failures counts from 1. */
export function nominalDelay(failures: number, policy: RetryPolicy): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 40);
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exponent);
}

/** A delay in [nominal/2, nominal): random() in [0, 1). */
export function jitteredDelay(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const nominal = nominalDelay(failures, policy);
  return Math.floor(nominal / 2 + (nominal / 2) * random());
}

/**
 * After a failed attempt: retry after a jittered delay, the last retry landing
 * on the deadline (storedAt + retryFor), or dead-letter once the deadline has passed.
 */
export function decideRetry(
  attempt: { failures: number; storedAtMs: number; nowMs: number },
  policy: RetryPolicy,
  random: () => number = Math.random,
): RetryDecision {
  const deadline = attempt.storedAtMs + policy.retryForMs;
  if (attempt.nowMs >= deadline) return { kind: "dead-letter" };
  return { kind: "retry", delayMs: Math.max(1, Math.min(jitteredDelay(attempt.failures, policy, random), deadline - attempt.nowMs)) };
}
