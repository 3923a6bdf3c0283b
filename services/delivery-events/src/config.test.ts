import { ConfigError, parseConfig } from "@postern/service-kit";
import { configSchema } from "./config";

const SECRET = `whsec_${Buffer.alloc(24, 1).toString("base64")}`;
const parse = (section: Record<string, unknown>): ReturnType<typeof parseConfig<typeof configSchema>> => parseConfig(configSchema, { delivery_events: section });

function problems(section: Record<string, unknown>): string[] {
  try {
    parse(section);
    return [];
  } catch (err) {
    return err instanceof ConfigError ? err.issues.map((i) => `${i.path}: ${i.message}`) : [String(err)];
  }
}

describe("delivery_events configuration", () => {
  it("fills in the defaults", () => {
    const config = parse({ webhooks: [{ name: "crm", url: "https://hooks.example.org/x", secret: SECRET }], sinks: [{ name: "pg", type: "postgres", url: "postgres://db/x" }] }).delivery_events;
    expect(config).toMatchObject({ subscription_max_in_flight: 256, webhook_allow_hosts: [], dead_letter: { storage: "file", max_age_seconds: 2_592_000 } });
    expect(config.webhooks[0]).toMatchObject({ events: [">"], sender_domains: [], max_concurrency: 4, retry_for_seconds: 86400, retry_initial_ms: 5000, timeout_ms: 10_000, max_pending: 1000 });
    expect(config.sinks[0]).toMatchObject({ type: "postgres", migrate: true, batch_size: 100, start: "new", events: [">"] });
  });

  it("keeps the dead-letter retention when only another dead_letter field is set", () => {
    expect(parse({ dead_letter: { replicas: 3 } }).delivery_events.dead_letter).toMatchObject({ replicas: 3, max_age_seconds: 2_592_000 });
  });

  it("takes lists as comma-separated strings (environment overrides)", () => {
    const config = parse({ webhook_allow_hosts: "127.0.0.1, 10.0.0.0/8", sinks: [{ name: "r", type: "redis", url: "redis://127.0.0.1", events: "msg:*,tcp:>" }] }).delivery_events;
    expect(config.webhook_allow_hosts).toEqual(["127.0.0.1", "10.0.0.0/8"]);
    expect(config.sinks[0]?.events).toEqual(["msg:*", "tcp:>"]);
  });

  it.each([
    [{ webhooks: [{ name: "a b", url: "https://x.example/", secret: SECRET }] }, "delivery_events.webhooks[0].name: expected 1 to 64 letters, digits, _ or -"],
    [{ webhooks: [{ name: "a", url: "ftp://x.example/", secret: SECRET }] }, "delivery_events.webhooks[0].url: expected an http:// or https:// URL"],
    [{ webhooks: [{ name: "a", url: "https://x.example/", secret: "whsec_short" }] }, "delivery_events.webhooks[0].secret: expected whsec_ followed by base64 of 16 to 64 bytes"],
    [{ webhooks: [{ name: "a", url: "https://x.example/", secret: SECRET, events: ["msg:>:x"] }] }, 'delivery_events.webhooks[0].events[0]: expected an event name pattern such as "msg:*" or ">"'],
    [{ webhooks: [{ name: "a", url: "https://x.example/", secret: SECRET, retry_initial_ms: 10, retry_max_ms: 5 }] }, "delivery_events.webhooks[0].retry_max_ms: must be at least retry_initial_ms"],
    [{ webhooks: [{ name: "a", url: "https://x.example/", secret: SECRET }, { name: "a", url: "https://y.example/", secret: SECRET }] }, 'delivery_events.webhooks[1].name: duplicate name "a"'],
    [{ webhook_allow_hosts: ["10.0.0.0/33"] }, "delivery_events.webhook_allow_hosts[0]: not a valid address or CIDR"],
    [{ sinks: [{ name: "x", type: "mysql", url: "mysql://db" }] }, "delivery_events.sinks[0].type"],
    [{ sinks: [{ name: "x", type: "postgres", url: "redis://db" }] }, "delivery_events.sinks[0].url: expected a postgres:// URL"],
    [{ sinks: [{ name: "x", type: "redis", url: "redis://db", recipient_domains: ["bad domain"] }] }, 'delivery_events.sinks[0].recipient_domains[0]: expected a domain or "*.domain"'],
    [{ webhooks: [{ name: "a", url: "https://x.example/", secret: SECRET, typo: 1 }] }, "delivery_events.webhooks[0]"],
  ])("refuses %j", (section, want) => {
    const found = problems(section);
    expect(found.some((p) => p.startsWith(want))).toBe(true);
  });
});
