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

/** The input with the check's deadline signal, field by field (a spread per check cost more than its metrics). */
function withSignal(input: SpfCheckInput, signal: AbortSignal): SpfCheckInput {
  return { ip: input.ip, mailFrom: input.mailFrom, helo: input.helo, identity: input.identity, guess: input.guess, signal };
}

export function createCheck(deps: CheckerDeps): Check {
  const checker = createSpfChecker(deps.dns, { receiver: deps.receiver, guessRecord: deps.guessRecord });
  const deadlines = new SharedDeadlines(deps.timeoutMs, deadlineReached);
  const { checks, inFlight, checkSeconds } = deps.metrics;

  // One promise per check: the first of the check and its deadline fallback settles it, counts
  // the verdict by result and source, and times it (as the awaits and finally blocks did).
  return (input, source) =>
    new Promise<SpfVerdict>((resolve, reject) => {
      const started = performance.now();
      inFlight.running++;
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        inFlight.running--;
        checkSeconds[source].observe((performance.now() - started) / 1000);
        return true;
      };
      const verdict = (v: SpfVerdict): void => {
        if (!finish()) return;
        checks.inc({ result: v.result, source });
        resolve(v);
      };
      // libspf rejects only with SpfInputError (and a bug's Error)
      const failure = (err: Error): void => {
        if (finish()) reject(err);
      };
      const ticket = deadlines.enter(() => void checker.check(withSignal(input, expired)).then(verdict, failure));
      checker.check(withSignal(input, ticket.signal)).then(
        (v) => {
          ticket.leave();
          verdict(v);
        },
        (err: Error) => {
          ticket.leave();
          failure(err);
        },
      );
    });
}
