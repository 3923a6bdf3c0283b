import { decideRetry, jitteredDelay, nominalDelay, type RetryPolicy } from "./retry-policy";

const policy: RetryPolicy = { initialDelayMs: 1000, maxDelayMs: 60_000, retryForMs: 3_600_000 };

describe("retry policy", () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [6, 32_000],
    [7, 60_000],
    [1000, 60_000],
    [0, 1000],
  ])("nominalDelay after %i failures = %i ms", (failures, want) => {
    expect(nominalDelay(failures, policy)).toBe(want);
  });

  it.each([
    [3, 0, 2000],
    [3, 0.5, 3000],
    [3, 0.999999, 3999],
    [7, 0, 30_000],
  ])("jitteredDelay(%i) with random %d = %i ms", (failures, random, want) => {
    expect(jitteredDelay(failures, policy, () => random)).toBe(want);
  });

  it("keeps every jittered delay within [nominal/2, nominal)", () => {
    for (let failures = 1; failures < 12; failures++) {
      const nominal = nominalDelay(failures, policy);
      for (let i = 0; i < 50; i++) {
        const d = jitteredDelay(failures, policy);
        expect(d).toBeGreaterThanOrEqual(nominal / 2);
        expect(d).toBeLessThan(nominal);
      }
    }
  });

  it.each([
    ["the first failure", { failures: 1, storedAtMs: 0, nowMs: 10 }, { kind: "retry", delayMs: 750 }],
    ["a late failure, capped", { failures: 20, storedAtMs: 0, nowMs: 1000 }, { kind: "retry", delayMs: 45_000 }],
    ["near the deadline: the last try lands on it", { failures: 20, storedAtMs: 0, nowMs: 3_590_000 }, { kind: "retry", delayMs: 10_000 }],
    ["at the deadline", { failures: 2, storedAtMs: 0, nowMs: 3_600_000 }, { kind: "dead-letter" }],
    ["long after it", { failures: 1, storedAtMs: 0, nowMs: 9_000_000 }, { kind: "dead-letter" }],
  ])("decideRetry: %s", (_label, attempt, want) => {
    expect(decideRetry(attempt, policy, () => 0.5)).toEqual(want);
  });
});
