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
 * Deadlines are shared: the checks that start within one slice of time (a
 * sixteenth of the timeout, at most 10 ms) share one AbortSignal and one timer,
 * due timeoutMs after the slice ends, so each check gets between timeoutMs and
 * timeoutMs + the slice. Why: an AbortController and a timer per check were a
 * tenth of the worker's allocations under bench:spf (every allocation brings
 * the next scavenge, and the pauses were in the round trip's p99), for a bound
 * that almost never fires.
 */
import { setMaxListeners } from "node:events";
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

interface Slice {
  endsAt: number;
  controller: AbortController;
  /** what each running check of the slice does at the deadline */
  due: Set<() => void>;
}

export function createCheck(deps: CheckerDeps): Check {
  const checker = createSpfChecker(deps.dns, { receiver: deps.receiver, guessRecord: deps.guessRecord });
  const sliceMs = Math.min(10, Math.max(1, deps.timeoutMs / 16));
  let current: Slice | undefined;

  const sliceNow = (): Slice => {
    const now = performance.now();
    if (current !== undefined && now < current.endsAt) return current;
    const slice: Slice = { endsAt: now + sliceMs, controller: new AbortController(), due: new Set() };
    // libspf listens on the signal once (and counts the queries waiting on it itself)
    setMaxListeners(0, slice.controller.signal);
    // Unref'd: a check that is still waiting keeps the process up through its own DNS query.
    // A slice whose checks all ended is not aborted: aborting builds a reason (a DOMException
    // with its stack by default) and dispatches an event, once per slice, for nobody.
    setTimeout(() => {
      if (slice.due.size === 0) return;
      slice.controller.abort(deadlineReached);
      for (const onDeadline of slice.due) onDeadline();
      slice.due.clear();
    }, sliceMs + deps.timeoutMs).unref();
    current = slice;
    return slice;
  };

  const bounded = (input: SpfCheckInput): Promise<SpfVerdict> => {
    const slice = sliceNow();
    return new Promise<SpfVerdict>((resolve, reject) => {
      const onDeadline = (): void => void checker.check({ ...input, signal: expired }).then(resolve, reject);
      slice.due.add(onDeadline);
      checker
        .check({ ...input, signal: slice.controller.signal })
        .then(resolve, reject)
        .finally(() => slice.due.delete(onDeadline));
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
