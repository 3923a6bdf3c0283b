/**
 * Keeps the webhook deliveries of one message in order within an instance:
 * KeyedQueue runs the deliveries of a message one after another, and
 * MessageOrder remembers the events of a message that were handed back to
 * JetStream (a retry, or held behind an earlier event) with the time they are
 * due again; an event may go only when no earlier event of its message is
 * outstanding. Redeliveries that arrive out of order are held again. An entry
 * lapses `graceMs` after it was due, so an event that another instance picked
 * up does not block this one for ever. Pure: the caller passes the clock.
 */

export class MessageOrder {
  /** message key -> outstanding event sequence -> when it is due again (ms) */
  private readonly outstanding = new Map<string, Map<number, number>>();

  constructor(
    private readonly graceMs: number,
    /** Added to a wait so the earlier event's redelivery comes first. */
    private readonly stepMs = 100,
  ) {}

  /** 0 when event `seq` of message `key` may go now; otherwise how long it should wait. */
  waitMs(key: string, seq: number, nowMs: number): number {
    const entries = this.outstanding.get(key);
    if (entries === undefined) return 0;
    let wait = 0;
    for (const [other, dueMs] of entries) {
      if (nowMs >= dueMs + this.graceMs) entries.delete(other);
      else if (other < seq) wait = Math.max(wait, Math.max(dueMs - nowMs, 0) + this.stepMs);
    }
    if (entries.size === 0) this.outstanding.delete(key);
    return wait;
  }

  /** Event `seq` of `key` was handed back to JetStream and is due again at `dueMs`. */
  deferred(key: string, seq: number, dueMs: number): void {
    let entries = this.outstanding.get(key);
    if (entries === undefined) this.outstanding.set(key, (entries = new Map<number, number>()));
    entries.set(seq, dueMs);
  }

  /** Event `seq` of `key` was delivered or dead-lettered. */
  settled(key: string, seq: number): void {
    const entries = this.outstanding.get(key);
    entries?.delete(seq);
    if (entries?.size === 0) this.outstanding.delete(key);
  }

  /** Messages with outstanding events. */
  get size(): number {
    return this.outstanding.size;
  }
}

/** Runs tasks with the same key one after another, tasks with different keys concurrently. */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  get size(): number {
    return this.tails.size;
  }
}

/** At most `limit` holders at once; acquire() waits in FIFO order. */
export class Semaphore {
  private held = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  acquire(): Promise<void> {
    if (this.held < this.limit) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held--;
  }

  get inUse(): number {
    return this.held;
  }
}
