/**
 * A small TTL cache with least-recently-used eviction (a Map keeps insertion order). Keys are
 * built from client input (domains, addresses), so the entry count is bounded. The clock is
 * passed in, so tests step time instead of sleeping.
 */

export const DEFAULT_CACHE_TTL_MS = 5_000;
export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

export interface TtlCacheOptions {
  /** lifetime of an entry; 0 disables caching */
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  /** milliseconds from a monotonic clock (default performance.now) */
  readonly now?: () => number;
}

export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(opts: TtlCacheOptions = {}) {
    this.#ttlMs = opts.ttlMs ?? DEFAULT_CACHE_TTL_MS;
    this.#maxEntries = opts.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
    this.#now = opts.now ?? (() => performance.now());
    if (!Number.isFinite(this.#ttlMs) || this.#ttlMs < 0) throw new RangeError(`ttlMs must be >= 0, not ${this.#ttlMs}`);
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, not ${this.#maxEntries}`);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live value for `key`, or undefined (an expired entry is dropped). */
  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#entries.delete(key);
    if (e.expires <= this.#now()) return undefined;
    this.#entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V): void {
    if (this.#ttlMs === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.#now() + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
