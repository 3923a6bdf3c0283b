import { createSpfChecker, DEFAULT_GUESS_RECORD, SpfInputError, type SpfCheckInput } from "@postern/libspf";
import { Registry } from "prom-client";
import { createCheck } from "./checker";
import { createSpfMetrics } from "./diagnostics";
import { slowDns, zoneDns } from "./testing/harness";

const never = new Promise<never>(() => undefined);

function setup(dns = zoneDns(), timeoutMs = 1_000) {
  const registry = new Registry();
  const metrics = createSpfMetrics(registry);
  return { registry, check: createCheck({ dns, receiver: "spf.test", guessRecord: DEFAULT_GUESS_RECORD, timeoutMs, metrics }) };
}

describe("createCheck", () => {
  it("returns libspf's verdict and counts it by result and source", async () => {
    const { registry, check } = setup();
    expect((await check({ ip: "192.0.2.1", mailFrom: "a@pass.test", helo: "h" }, "nats")).result).toBe("pass");
    expect((await check({ ip: "203.0.113.1", mailFrom: "a@fail.test", helo: "h" }, "grpc")).result).toBe("fail");
    const text = await registry.metrics();
    expect(text).toContain('postern_spf_checks_total{result="pass",source="nats"} 1');
    expect(text).toContain('postern_spf_checks_total{result="fail",source="grpc"} 1');
    expect(text).toContain('postern_spf_check_duration_seconds_count{source="nats"} 1');
    expect(text).toContain("postern_spf_checks_in_flight 0");
  });

  it("answers temperror at check_timeout_ms while a query still hangs", async () => {
    const { check } = setup({ ...zoneDns(), txt: () => never }, 50);
    const started = Date.now();
    const verdict = await check({ ip: "192.0.2.1", mailFrom: "a@pass.test", helo: "h" }, "nats");
    expect(verdict.result).toBe("temperror");
    expect(verdict.receivedSpf).toMatch(/^temperror \(spf\.test: /);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("makes no query after the deadline", async () => {
    const zone = zoneDns();
    let queries = 0;
    const counting = slowDns({ ...zone, txt: (n) => (queries++, zone.txt(n)), a: (n) => (queries++, zone.a(n)), mx: (n) => (queries++, zone.mx(n)) }, 40);
    const { check } = setup(counting, 60);
    expect((await check({ ip: "198.51.100.7", mailFrom: "a@mx.test", helo: "h" }, "nats")).result).toBe("temperror");
    const seen = queries;
    await new Promise((r) => setTimeout(r, 200));
    expect(queries).toBe(seen);
    expect(seen).toBeLessThanOrEqual(3);
  });

  it("throws SpfInputError for a bad address", async () => {
    const { check } = setup();
    await expect(check({ ip: "192.0.2", mailFrom: "a@pass.test", helo: "h" }, "grpc")).rejects.toBeInstanceOf(SpfInputError);
  });

  // The wrapper builds libspf's input field by field (no spread): every field must reach libspf.
  it.each<[string, SpfCheckInput]>([
    ["MAIL FROM", { ip: "192.0.2.1", mailFrom: "a@pass.test", helo: "mail.pass.test" }],
    ["HELO identity", { ip: "203.0.113.9", mailFrom: "a@pass.test", helo: "fail.test", identity: "helo" }],
    ["null sender", { ip: "192.0.2.1", mailFrom: "", helo: "pass.test" }],
    ["guess on, no record", { ip: "192.0.2.99", mailFrom: "a@nospf.test", helo: "h", guess: true }],
    ["guess off, no record", { ip: "192.0.2.99", mailFrom: "a@nospf.test", helo: "h", guess: false }],
    ["IPv6", { ip: "2001:db8::25", mailFrom: "a@pass.test", helo: "h" }],
  ])("gives libspf's verdict for the same input: %s", async (_name, input) => {
    const { check } = setup();
    const direct = await createSpfChecker(zoneDns(), { receiver: "spf.test", guessRecord: DEFAULT_GUESS_RECORD }).check(input);
    expect(await check(input, "grpc")).toStrictEqual(direct);
  });

  it("counts a check once when its late result follows the deadline's verdict, and shows checks in flight", async () => {
    const { registry, check } = setup(slowDns(zoneDns(), 150), 30);
    const pending = check({ ip: "192.0.2.1", mailFrom: "a@pass.test", helo: "h" }, "nats");
    expect(await registry.metrics()).toContain("postern_spf_checks_in_flight 1");
    expect((await pending).result).toBe("temperror");
    await new Promise((r) => setTimeout(r, 400)); // the late check ends on its own
    const text = await registry.metrics();
    expect(text).toContain('postern_spf_checks_total{result="temperror",source="nats"} 1');
    expect(text).not.toContain('result="pass"');
    expect(text).toContain('postern_spf_check_duration_seconds_count{source="nats"} 1');
    expect(text).toContain("postern_spf_checks_in_flight 0");
  });

  it("a bad address is timed and leaves no check in flight", async () => {
    const { registry, check } = setup();
    await expect(check({ ip: "bogus", mailFrom: "a@pass.test", helo: "h" }, "grpc")).rejects.toBeInstanceOf(SpfInputError);
    const text = await registry.metrics();
    expect(text).toContain('postern_spf_check_duration_seconds_count{source="grpc"} 1');
    expect(text).toContain("postern_spf_checks_in_flight 0");
    expect(text).not.toContain("postern_spf_checks_total{");
  });
});
