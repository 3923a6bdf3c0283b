/**
 * Bounds the work in flight (max_in_flight) and lets shutdown wait for it:
 * close() refuses new work, idle() resolves when the last job has left or
 * the grace has run out.
 */
export class Admission {
  private active = 0;
  private closed = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly max: number) {}

  get size(): number {
    return this.active;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Takes a slot; false when full or closed. Every true must be matched by one leave(). */
  tryEnter(): boolean {
    if (this.closed || this.active >= this.max) return false;
    this.active++;
    return true;
  }

  leave(): void {
    this.active--;
    if (this.active === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  close(): void {
    this.closed = true;
  }

  /** True when everything left within `graceMs`, false when work is still running. */
  idle(graceMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), graceMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
