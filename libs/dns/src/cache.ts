/**
 * A TTL cache in the manner of Postfix's ctable: the caller gives an explicit key and a
 * loader; the cache returns the stored value while it is fresh and calls the loader
 * otherwise. Storage is injectable (CacheStore); the default is a bounded LRU map.
 */

/** Storage behind TtlCache. `get` counts as a use for LRU purposes. */
export interface CacheStore<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
  readonly size: number;
}

/** A Map kept in recency order: the first key is the least recently used, evicted first. */
export class LruStore<V> implements CacheStore<V> {
  readonly #map = new Map<string, V>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = Math.max(1, Math.floor(maxEntries));
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.#maxEntries) {
      const oldest = this.#map.keys().next();
      if (oldest.done === true) break;
      this.#map.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  /** Keys from least to most recently used (for tests and diagnostics). */
  keys(): string[] {
    return [...this.#map.keys()];
  }
}

/** What the store holds: the value and when it stops being fresh (clock milliseconds). */
export interface CacheEntry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export interface TtlCacheOptions<V> {
  /** Seconds a freshly loaded value may be served; 0 or less: not stored. */
  readonly ttlOf: (value: V) => number;
  readonly store?: CacheStore<CacheEntry<V>>;
  /** Bound of the default LRU store (ignored when `store` is given). */
  readonly maxEntries?: number;
  /** Clock in milliseconds; inject a fake one in tests. */
  readonly now?: () => number;
}

/** A value and whether it came from the cache; `remainingS` is its remaining freshness. */
export interface CacheResult<V> {
  readonly value: V;
  readonly hit: boolean;
  readonly remainingS: number;
}

export const DEFAULT_MAX_ENTRIES = 10_000;

export class TtlCache<V> {
  readonly #ttlOf: (value: V) => number;
  readonly #store: CacheStore<CacheEntry<V>>;
  readonly #now: () => number;

  constructor(options: TtlCacheOptions<V>) {
    this.#ttlOf = options.ttlOf;
    this.#store = options.store ?? new LruStore(options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.#now = options.now ?? Date.now;
  }

  /** The fresh value under `key`, or the loader's value (stored when its TTL is positive). */
  get(key: string, load: () => Promise<V>): Promise<CacheResult<V>> {
    const hit = this.peek(key);
    return hit !== undefined ? Promise.resolve(hit) : this.load(key, load);
  }

  /** The fresh value under `key` if there is one, without waiting (a stale one is dropped). */
  peek(key: string): CacheResult<V> | undefined {
    const entry = this.#store.get(key);
    if (entry === undefined) return undefined;
    const now = this.#now();
    if (entry.expiresAt > now) return { value: entry.value, hit: true, remainingS: Math.floor((entry.expiresAt - now) / 1000) };
    this.#store.delete(key);
    return undefined;
  }

  /** Calls the loader and stores its value when its TTL is positive (a miss: see peek). */
  async load(key: string, load: () => Promise<V>): Promise<CacheResult<V>> {
    const value = await load();
    const ttl = this.#ttlOf(value);
    if (ttl > 0) this.#store.set(key, { value, expiresAt: this.#now() + ttl * 1000 });
    return { value, hit: false, remainingS: Math.max(0, ttl) };
  }

  get size(): number {
    return this.#store.size;
  }
}
