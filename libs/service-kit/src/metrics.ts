import { collectDefaultMetrics, Registry } from "prom-client";

/** Metric name prefix for every Postern metric, including prom-client's default ones. */
export const METRIC_PREFIX = "postern_";

/** A fresh registry for one service: default process metrics on (prefix "postern_"), label service=name. */
export function createMetrics(name: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: name });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
