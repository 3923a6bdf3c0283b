import { setMaxListeners } from "node:events";

/** One piece of work holding a shared deadline: its signal, and leave() when it ends. */
export interface DeadlineTicket {
  readonly signal: AbortSignal;
  leave(): void;
}

interface Slice {
  endsAt: number;
  controller: AbortController;
  /** the work of the slice still running, with what each does at the deadline */
  running: Set<() => void>;
}

const nothing = (): void => undefined;

/**
 * Deadlines shared by the work that starts within one slice of time (a sixteenth of the
 * timeout, at most 10 ms): one AbortSignal and one timer per slice, due timeoutMs after the
 * slice ends, so each piece of work gets between timeoutMs and timeoutMs + the slice.
 * Why: an AbortController and a timer per check (or AbortSignal.timeout, which also fires a
 * DOMException and an abort event for every check long after its verdict) were a tenth of the
 * spf worker's allocations, for a bound that almost never fires. A slice whose work has all
 * ended is not aborted, and the abort reason is built once.
 */
export class SharedDeadlines {
  private readonly sliceMs: number;
  private current: Slice | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly reason: Error,
  ) {
    this.sliceMs = Math.min(10, Math.max(1, timeoutMs / 16));
  }

  /** Joins the current slice; `onDeadline` runs if the work has not left when the deadline passes. */
  enter(onDeadline: () => void = nothing): DeadlineTicket {
    const slice = this.sliceNow();
    // a function per entry, so the same callback can hold two tickets
    const entry = (): void => onDeadline();
    slice.running.add(entry);
    return { signal: slice.controller.signal, leave: () => void slice.running.delete(entry) };
  }

  private sliceNow(): Slice {
    const now = performance.now();
    if (this.current !== undefined && now < this.current.endsAt) return this.current;
    const slice: Slice = { endsAt: now + this.sliceMs, controller: new AbortController(), running: new Set() };
    // many checks wait on one signal (each library listens while its queries are out): not a leak
    setMaxListeners(0, slice.controller.signal);
    // Unref'd: work still waiting keeps the process up through its own I/O.
    setTimeout(() => {
      if (slice.running.size === 0) return;
      slice.controller.abort(this.reason);
      for (const onDeadline of slice.running) onDeadline();
      slice.running.clear();
    }, this.sliceMs + this.timeoutMs).unref();
    this.current = slice;
    return slice;
  }
}
