import { Histogram, Registry } from "prom-client";
import { TallyHistogram } from "./tally-histogram";

const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4];

/**
 * The exposition with each _sum rounded to 12 significant digits: the tally adds its pending sum
 * at once, so a sum may differ from one-by-one addition in the last bit of the double.
 */
function text(exposition: string): string {
  return exposition.replace(/(_sum\{[^}]*\} )(\S+)/g, (_m, key: string, value: string) => `${key}${Number(value).toPrecision(12)}`);
}

/** The same histogram twice, one plain and one tallied, in registries of their own. */
function pair() {
  const plainRegistry = new Registry();
  const tallyRegistry = new Registry();
  const config = { name: "t_seconds", help: "t", labelNames: ["source"] as const, buckets };
  const plain = new Histogram({ ...config, registers: [plainRegistry] });
  const tally = new TallyHistogram({ ...config, registers: [tallyRegistry] });
  return { plain, tally, plainRegistry, tallyRegistry };
}

describe("TallyHistogram", () => {
  test.each([
    ["nothing observed", []],
    ["one value", [["nats", 0.0003]]],
    ["values on bounds, between, above the last bucket, zero", [["nats", 0.0005], ["nats", 0.001], ["nats", 0.0007], ["nats", 5], ["nats", 0], ["nats", 4]]],
    ["two label sets", [["nats", 0.002], ["grpc", 0.3], ["nats", 0.02], ["grpc", 10]]],
  ] as const)("exposition equals a plain Histogram's: %s", async (_name, values) => {
    const { plain, tally, plainRegistry, tallyRegistry } = pair();
    const observers = { nats: tally.observer({ source: "nats" }), grpc: tally.observer({ source: "grpc" }) };
    for (const [source, value] of values) {
      plain.observe({ source }, value);
      observers[source].observe(value);
    }
    expect(text(await tallyRegistry.metrics())).toBe(text(await plainRegistry.metrics()));
    // and again after more observations (sums are added, not replaced)
    for (const [source, value] of values) {
      plain.observe({ source }, value * 2);
      observers[source].observe(value * 2);
    }
    expect(text(await tallyRegistry.metrics())).toBe(text(await plainRegistry.metrics()));
    const shape = async (h: Histogram<"source">) => (await h.get()).values.map((v) => [v.metricName, v.labels, v.metricName?.endsWith("_sum") ? v.value.toPrecision(12) : v.value]);
    expect(await shape(tally)).toEqual(await shape(plain));
  });

  test("after reset, counting starts again", async () => {
    const { plain, tally, plainRegistry, tallyRegistry } = pair();
    const nats = tally.observer({ source: "nats" });
    nats.observe(0.2);
    plain.observe({ source: "nats" }, 0.2);
    await tallyRegistry.metrics();
    tally.reset();
    plain.reset();
    nats.observe(0.003);
    plain.observe({ source: "nats" }, 0.003);
    expect(text(await tallyRegistry.metrics())).toBe(text(await plainRegistry.metrics()));
  });

  test("a wrong label name throws when the observer is made; a non-finite value when observed", () => {
    const { tally } = pair();
    expect(() => tally.observer({ sourcee: "x" } as never)).toThrow();
    expect(() => tally.observer({ source: "nats" }).observe(Number.NaN)).toThrow("not a valid number");
  });
});
