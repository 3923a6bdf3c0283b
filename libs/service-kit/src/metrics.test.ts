import { Registry } from "prom-client";
import { TallyCounter } from "./metrics";

describe("TallyCounter", () => {
  const make = () => {
    const registry = new Registry();
    const counter = new TallyCounter({ name: "t_total", help: "h", labelNames: ["a", "b"] as const, registers: [registry] });
    return { registry, counter };
  };
  const values = async (counter: TallyCounter<"a" | "b">) => (await counter.get()).values.map((v) => [v.labels, v.value]);

  it("sums increments per label set and hands them to prom-client when read", async () => {
    const { registry, counter } = make();
    counter.inc({ a: "x", b: "y" });
    counter.inc({ b: "y", a: "x" }, 2);
    counter.inc({ a: "x", b: "z" });
    expect(await values(counter)).toEqual([
      [{ a: "x", b: "y" }, 3],
      [{ a: "x", b: "z" }, 1],
    ]);
    counter.inc({ a: "x", b: "y" });
    expect(await registry.metrics()).toContain('t_total{a="x",b="y"} 4');
    expect(await values(counter)).toEqual([
      [{ a: "x", b: "y" }, 4],
      [{ a: "x", b: "z" }, 1],
    ]);
  });

  it("keeps prom-client's checks: unknown labels and negative values throw", () => {
    const { counter } = make();
    expect(() => counter.inc({ c: "x" } as never)).toThrow();
    expect(() => counter.inc({ a: "x" }, -1)).toThrow();
  });

  it("reset drops the pending sums; an inc without labels goes straight through", async () => {
    const registry = new Registry();
    const plain = new TallyCounter({ name: "p_total", help: "h", registers: [registry] });
    plain.inc();
    plain.inc(2);
    expect((await plain.get()).values[0]?.value).toBe(3);
    const { counter } = make();
    counter.inc({ a: "x", b: "y" }, 5);
    counter.reset();
    counter.inc({ a: "x", b: "y" });
    expect(await values(counter)).toEqual([[{ a: "x", b: "y" }, 1]]);
  });
});
