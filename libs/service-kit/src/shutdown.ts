import { type Logger } from "pino";
import { logEvents } from "./diagnostics";
import { ShutdownError } from "./errors";
import { withTimeout } from "./timeout";

export interface Shutdown {
  /** closers run in reverse registration order on SIGTERM/SIGINT or trigger(); each bounded by a timeout */
  add(name: string, close: () => Promise<void> | void, opts?: { timeoutMs?: number }): void;
  /** Idempotent: every call returns the same promise, which never rejects (closer failures are logged). */
  trigger(reason: string): Promise<void>;
  readonly signal: AbortSignal; // aborted when shutdown begins, reason: ShutdownError
}

/** The owner's side: runService installs the signal handlers, services see only Shutdown. */
export interface ShutdownControl extends Shutdown {
  /** SIGTERM/SIGINT -> trigger, then exit(0); a second signal -> exit(1) at once. Returns an uninstaller. */
  installSignalHandlers(): () => void;
}

export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
const SIGNALS = ["SIGTERM", "SIGINT"] as const;

interface Closer {
  name: string;
  close: () => Promise<void> | void;
  timeoutMs: number;
}

export function createShutdown(opts: { logger: Logger; timeoutMs?: number; exit?: (code: number) => void }): ShutdownControl {
  const { logger } = opts;
  const defaultTimeout = opts.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const controller = new AbortController();
  const closers: Closer[] = [];
  let done: Promise<void> | undefined;

  const runOne = async (c: Closer): Promise<void> => {
    try {
      await withTimeout(c.close, c.timeoutMs, `closer ${c.name}`);
    } catch (err) {
      logger.error({ err, closer: c.name }, logEvents.closerFailed);
    }
  };

  const runAll = async (reason: string): Promise<void> => {
    logger.info({ reason }, logEvents.shutdownBegin);
    controller.abort(new ShutdownError(reason));
    while (closers.length > 0) await runOne(closers.pop() as Closer);
    logger.info(logEvents.shutdownDone);
  };

  const trigger = (reason: string): Promise<void> => {
    done ??= runAll(reason);
    return done;
  };

  return {
    signal: controller.signal,
    trigger,
    add(name, close, addOpts) {
      const closer = { name, close, timeoutMs: addOpts?.timeoutMs ?? defaultTimeout };
      // Added after shutdown began (a start racing the signal): close it at once, after the others.
      if (done !== undefined) done = done.then(() => runOne(closer));
      else closers.push(closer);
    },
    installSignalHandlers() {
      let received = false;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (received) {
          logger.warn({ signal }, logEvents.signalForced);
          exit(1);
          return;
        }
        received = true;
        logger.info({ signal }, logEvents.signal);
        void trigger(signal).then(() => exit(0));
      };
      for (const s of SIGNALS) process.on(s, onSignal);
      return () => {
        for (const s of SIGNALS) process.off(s, onSignal);
      };
    },
  };
}
