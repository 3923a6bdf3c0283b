import { DEFAULT_GUESS_RECORD } from "@postern/libspf";
import { ConfigError, parseConfig } from "@postern/service-kit";
import { configSchema } from "./config";

describe("spf configuration", () => {
  it("has the documented defaults", () => {
    const { spf } = parseConfig(configSchema, {});
    expect(spf).toMatchObject({
      grpc: { listen: "127.0.0.1:50052" },
      callback: { deadline_ms: 1000, keepalive_time_ms: 20_000, keepalive_timeout_ms: 10_000, keepalive_without_calls: true },
      dns: { timeout_ms: 2000, attempts: 2 },
      spf_guess: DEFAULT_GUESS_RECORD,
      spf_guess_enable: false,
      check_timeout_ms: 4000,
      max_in_flight: 1000,
    });
    expect(spf.dns.servers).toBeUndefined();
    expect(spf.receiver).not.toBe("");
  });

  it("takes DNS servers as a list or as an env-style string", () => {
    expect(parseConfig(configSchema, { spf: { dns: { servers: "127.0.0.1:5353, [::1]:53" } } }).spf.dns.servers).toEqual(["127.0.0.1:5353", "[::1]:53"]);
  });

  it.each([
    [{ dns: { servers: ["dns.example"] } }, "spf.dns.servers[0]"],
    [{ spf_guess: "v=spf1 ip4:nonsense" }, "spf.spf_guess"],
    [{ check_timeout_ms: 0 }, "spf.check_timeout_ms"],
    [{ receiver: "two words" }, "spf.receiver"],
    [{ grpc: { listen: "nowhere" } }, "spf.grpc.listen"],
    [{ unknown_option: 1 }, "spf.unknown_option"],
  ])("refuses %j naming %s", (spf, path) => {
    let error: unknown;
    try {
      parseConfig(configSchema, { spf });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toContain(path);
  });
});
