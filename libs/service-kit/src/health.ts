import { withTimeout } from "./timeout";

export interface Health {
  /** Readiness check; /readyz is 200 only when every check returns true. A throw or a time-out counts as false. */
  addCheck(name: string, check: () => boolean | Promise<boolean>): void;
  /** /healthz is 200 once the process is alive and not shutting down. */
  setStarted(): void;
}

/** The state behind the endpoints; runService owns it, services see only Health. */
export interface HealthState extends Health {
  setShuttingDown(): void;
  /** "ok" once started and until shutdown begins. */
  status(): LiveStatus;
  /** Runs every check concurrently, each bounded by `timeoutMs`; returns the names of the failing ones. */
  failingChecks(timeoutMs?: number): Promise<string[]>;
}

export type LiveStatus = "starting" | "ok" | "shutting_down";

export const CHECK_TIMEOUT_MS = 1000;

export function createHealth(): HealthState {
  const checks = new Map<string, () => boolean | Promise<boolean>>();
  let started = false;
  let shuttingDown = false;
  return {
    addCheck(name, check) {
      checks.set(name, check);
    },
    setStarted() {
      started = true;
    },
    setShuttingDown() {
      shuttingDown = true;
    },
    status: () => (shuttingDown ? "shutting_down" : started ? "ok" : "starting"),
    async failingChecks(timeoutMs = CHECK_TIMEOUT_MS) {
      const results = await Promise.all(
        [...checks].map(async ([name, check]) => {
          const ok = await withTimeout(check, timeoutMs, `readiness check ${name}`).catch(() => false);
          return ok === true ? undefined : name;
        }),
      );
      return results.filter((name): name is string => name !== undefined);
    },
  };
}
