/** Counting semaphores by key: per-host connections and per-domain parallel deliveries. */
export class Limiter {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();
  constructor(private readonly max: number) {}

  /** Resolves with a release function once fewer than `max` holders of `key` are active. */
  async acquire(key: string): Promise<() => void> {
    if (this.max <= 0) return () => undefined;
    const n = this.active.get(key) ?? 0;
    if (n < this.max) this.active.set(key, n + 1);
    else {
      await new Promise<void>((resolve) => {
        const q = this.waiting.get(key) ?? [];
        this.waiting.set(key, q);
        q.push(resolve);
      });
      // the releasing holder handed its slot over: active stays the same
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const q = this.waiting.get(key);
      const next = q?.shift();
      if (q && q.length === 0) this.waiting.delete(key);
      if (next) next();
      else {
        const left = (this.active.get(key) ?? 1) - 1;
        if (left <= 0) this.active.delete(key);
        else this.active.set(key, left);
      }
    };
  }

  inUse(key: string): number {
    return this.active.get(key) ?? 0;
  }
}
