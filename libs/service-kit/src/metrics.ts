import { collectDefaultMetrics, Counter, type CounterConfiguration, type LabelValues, Registry } from "prom-client";

/** Metric name prefix for every Postern metric, including prom-client's default ones. */
export const METRIC_PREFIX = "postern_";

/** A fresh registry for one service: default process metrics on (prefix "postern_"), label service=name. */
export function createMetrics(name: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: name });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

interface Tally<T extends string> {
  readonly labels: LabelValues<T>;
  n: number;
}

/**
 * A Counter for hot paths: an inc() adds to a Map entry keyed by the label values and
 * the sums reach prom-client when the registry is read (collect), instead of label
 * validation, hashing and a series update per call (a DNS query or a check: several
 * per message). The first inc of a label set goes through prom-client with 0, so a
 * wrong label name throws at once as before and the series exists from then on.
 * Exemplars are not supported.
 */
export class TallyCounter<T extends string = string> extends Counter<T> {
  readonly #pending = new Map<string, Tally<T>>();
  readonly #names: readonly string[];
  readonly #promInc: (labels: LabelValues<T>, value: number) => void;

  constructor(config: CounterConfiguration<T>) {
    if (config.enableExemplars === true) throw new TypeError(`${config.name}: TallyCounter does not support exemplars`);
    const collect = config.collect;
    super({
      ...config,
      collect(this: Counter<T>) {
        (this as TallyCounter<T>).drain();
        return collect?.call(this);
      },
    });
    this.#names = config.labelNames ?? [];
    this.#promInc = this.inc.bind(this);
    // prom-client sets inc on the instance in its constructor, so it is replaced the same way
    (this as { inc: (labels?: LabelValues<T> | number, value?: number) => void }).inc = (labels, value) => {
      if (labels === undefined || typeof labels === "number") return this.#promInc({}, labels ?? 1);
      const n = value ?? 1;
      if (!Number.isFinite(n) || n < 0) return this.#promInc(labels, n); // throws prom-client's own error
      let key = "";
      for (const name of this.#names) key += `${String(labels[name as T])}\u0000`;
      const tally = this.#pending.get(key);
      if (tally !== undefined) tally.n += n;
      else {
        this.#promInc(labels, 0);
        this.#pending.set(key, { labels: { ...labels }, n });
      }
    };
  }

  /** Hands the sums to prom-client; runs on every registry read. */
  drain(): void {
    for (const tally of this.#pending.values()) {
      if (tally.n === 0) continue;
      const n = tally.n;
      tally.n = 0;
      this.#promInc(tally.labels, n);
    }
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist
    if (#pending in this) this.#pending.clear();
    super.reset();
  }
}
