/**
 * One SPF check as the service runs it: one libspf checker over the shared
 * resolver (its parsed-record cache serves every check), bounded by
 * check_timeout_ms, counted by result and timed.
 *
 * The bound: at the deadline the check's signal aborts, so libspf makes no
 * further query. A query already waiting on its DNS timeout would still hold
 * the verdict, so the service does not wait for it: it answers with the
 * verdict libspf gives for the same input once the deadline has passed
 * (temperror, "DNS timeout"), and the late check ends on its own.
 *
 * Deadlines are shared per slice of time (SharedDeadlines, service-kit): a check gets
 * between timeoutMs and timeoutMs + the slice.
 */
import { SharedDeadlines } from "@postern/service-kit";
import { createSpfChecker, type SpfCheckInput, type SpfDns, type SpfVerdict } from "@postern/libspf";
import { type CheckSource, type SpfMetrics } from "./diagnostics";

export interface CheckerDeps {
  dns: SpfDns;
  receiver: string;
  guessRecord: string;
  timeoutMs: number;
  metrics: SpfMetrics;
}

/** Runs a check. Throws SpfInputError for a bad client address, nothing else. */
export type Check = (input: SpfCheckInput, source: CheckSource) => Promise<SpfVerdict>;

const expired: AbortSignal = AbortSignal.abort();
const deadlineReached = new Error("SPF check deadline reached");

export function createCheck(deps: CheckerDeps): Check {
  const checker = createSpfChecker(deps.dns, { receiver: deps.receiver, guessRecord: deps.guessRecord });
  const deadlines = new SharedDeadlines(deps.timeoutMs, deadlineReached);

  const bounded = (input: SpfCheckInput): Promise<SpfVerdict> => {
    return new Promise<SpfVerdict>((resolve, reject) => {
      const ticket = deadlines.enter(() => void checker.check({ ...input, signal: expired }).then(resolve, reject));
      checker
        .check({ ...input, signal: ticket.signal })
        .then(resolve, reject)
        .finally(() => ticket.leave());
    });
  };

  return async (input, source) => {
    const started = process.hrtime.bigint();
    deps.metrics.inFlight.inc();
    try {
      const verdict = await bounded(input);
      deps.metrics.checks.inc({ result: verdict.result, source });
      return verdict;
    } finally {
      deps.metrics.inFlight.dec();
      deps.metrics.checkSeconds.observe({ source }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}
