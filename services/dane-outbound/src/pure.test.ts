import os from "node:os";
import { createHash } from "node:crypto";
import { parseConfig } from "@postern/service-kit";
import { retryDelayMs } from "./attempt";
import { configSchema } from "./config";
import { deliveryLogLine } from "./delivery-log";
import { eventId } from "./event-ids";
import { deliveryHeaders, localPartProblem, maildirFileName } from "./maildir";
import { parseRoute, pickRoute, type Route } from "./routes";
import { stateKey } from "./state";

describe("config", () => {
  it("has the documented defaults", () => {
    const c = parseConfig(configSchema, {});
    expect(c.dane_outbound).toMatchObject({
      helo_name: os.hostname(),
      routes: {},
      delivery_events: { address: "127.0.0.1:50054", deadline_ms: 5000 },
      retry: { schedule_seconds: [60, 300, 900, 1800, 3600], max_age_seconds: 432000 },
      concurrency: 16,
      connect_timeout_ms: 30000,
      command_timeout_ms: 300000,
      ack_wait_seconds: 600,
      max_ack_pending: 10000,
      report_retry_seconds: 5,
      http: { host: "127.0.0.1", port: 0 },
    });
    expect(c.nats.servers).toEqual(["nats://127.0.0.1:4222"]);
  });

  const bad: Array<[string, unknown, string]> = [
    ["mx route with an argument", { routes: { "*": "mx:25" } }, 'dane_outbound.routes["*"]: expected mx'],
    ["unknown scheme", { routes: { "a.test": "pipe:/bin/cat" } }, 'dane_outbound.routes["a.test"]: expected mx, maildir:<dir>'],
    ["smtp without port", { routes: { "a.test": "smtp:mx.a.test" } }, 'dane_outbound.routes["a.test"]: expected smtp:<host>:<port>'],
    ["port out of range", { routes: { "a.test": "lmtp:127.0.0.1:70000" } }, "expected lmtp:<host>:<port>"],
    ["upper-case domain key", { routes: { "A.test": "maildir:/tmp/m" } }, 'expected a lower-case domain or "*"'],
    ["typo in section", { concurency: 4 }, "dane_outbound"],
    ["bad address", { delivery_events: { address: "nowhere" } }, "dane_outbound.delivery_events.address"],
    ["bad helo name", { helo_name: "a b" }, "dane_outbound.helo_name: expected a host name"],
    ["empty schedule", { retry: { schedule_seconds: [] } }, "dane_outbound.retry.schedule_seconds"],
    ["max_ack_pending below concurrency", { concurrency: 32, max_ack_pending: 8 }, "max_ack_pending must be at least concurrency"],
  ];
  it.each(bad)("refuses %s", (_name, dane, want) => {
    expect(() => parseConfig(configSchema, { dane_outbound: dane })).toThrow(want);
  });

  it("accepts every route kind", () => {
    const c = parseConfig(configSchema, {
      dane_outbound: { routes: { "*": "smtp:[::1]:2525", "l.test": "lmtp:lmtp.local:24", "m.test": "maildir:.data/maildir" } },
    });
    expect(Object.keys(c.dane_outbound.routes)).toHaveLength(3);
  });
});

describe("routes", () => {
  it.each([
    ["maildir:/var/mail", { kind: "maildir", dir: "/var/mail" }],
    ["smtp:mx.example.org:25", { kind: "smtp", host: "mx.example.org", port: 25 }],
    ["smtp:[2001:db8::1]:587", { kind: "smtp", host: "2001:db8::1", port: 587 }],
    ["lmtp:127.0.0.1:24", { kind: "lmtp", host: "127.0.0.1", port: 24 }],
  ])("parses %s", (spec, want) => expect(parseRoute(spec)).toMatchObject(want));

  it("picks the exact domain, then *, else nothing", () => {
    const r = (spec: string): Route => parseRoute(spec) as Route;
    const table = new Map([["a.test", r("maildir:/a")], ["*", r("smtp:h:25")]]);
    expect(pickRoute(table, "a.test")?.name).toBe("route:a.test");
    expect(pickRoute(table, "b.test")?.name).toBe("route:*");
    expect(pickRoute(new Map([["a.test", r("maildir:/a")]]), "b.test")).toBeUndefined();
  });
});

describe("event ids", () => {
  it("are deterministic UUIDs that differ by message, recipient, name and attempt", () => {
    const id = eventId("m1", 0, "msg:delivery", 1);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventId("m1", 0, "msg:delivery", 1)).toBe(id);
    const others = [eventId("m2", 0, "msg:delivery", 1), eventId("m1", 1, "msg:delivery", 1), eventId("m1", 0, "msg:rcpt:defer", 1), eventId("m1", 0, "msg:delivery", 2), eventId("m1", "message", "msg:delivery", 1)];
    expect(new Set([id, ...others]).size).toBe(6);
  });

  it("stay the ids earlier versions reported (a redelivery across an upgrade is de-duplicated)", () => {
    // Values of the first implementation (version and variant bits set in the digest bytes).
    expect(eventId("m1", 0, "msg:delivery", 1)).toBe("ef941483-65a2-8331-986c-6ff7ebebb920");
    expect(eventId("1a2b-x", "message", "msg:complete", 3)).toBe("802019ba-ef85-8887-b7cb-166cde260fe0");
    expect(eventId("Grüße@example", 7, "msg:rcpt:defer", 12)).toBe("12473bcb-8092-8b49-8bea-67c2d5759f9c");
    const bytewise = (messageId: string, pos: number | string, name: string, attempt: number): string => {
      const h = createHash("sha256").update(JSON.stringify([messageId, pos, name, attempt])).digest();
      h[6] = ((h[6] ?? 0) & 0x0f) | 0x80;
      h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
      const hex = h.subarray(0, 16).toString("hex");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    };
    for (let i = 0; i < 500; i++) {
      const args = [`msg-${i}`, i % 4 === 0 ? "message" : i % 7, i % 2 === 0 ? "msg:delivery" : "msg:complete", 1 + (i % 9)] as const;
      expect(eventId(...args)).toBe(bytewise(...args));
    }
  });
});

describe("maildir", () => {
  it.each([
    ["bob", undefined],
    ["bob.smith+tag", undefined],
    ["..", "local part starts with '.'"],
    [".", "local part starts with '.'"],
    [".hidden", "local part starts with '.'"],
    ["../x", "local part contains '/'"],
    ["a/b", "local part contains '/'"],
    ["a\0b", "local part contains NUL"],
    ["", "empty local part"],
    ["x".repeat(256), "local part longer than 255 bytes"],
  ])("local part %j -> %s", (lp, want) => expect(localPartProblem(lp)).toBe(want));

  it("makes unique file names and headers in the body's line-end style", () => {
    const names = new Set(Array.from({ length: 1000 }, () => maildirFileName()));
    expect(names.size).toBe(1000);
    expect([...names][0]).toMatch(/^\d+\.M\d+P\d+Q\d+R[0-9a-f]{16}\./);
    expect(deliveryHeaders("", "b@x", Buffer.from("A: b\r\n")).toString()).toBe("Return-Path: <>\r\nDelivered-To: b@x\r\n");
    expect(deliveryHeaders("a@x", "b@x", Buffer.from("A: b\n")).toString()).toBe("Return-Path: <a@x>\nDelivered-To: b@x\n");
  });
});

describe("delivery log lines", () => {
  const ctx = { messageId: "m1", recipient: "b@x.test", routerName: "route:x.test", transportName: "smtp" };
  const host = { name: "mx.x.test", ip: "192.0.2.1", port: 25 };
  it.each([
    [{ status: "delivered", confirmation: '250 OK "id"', host }, 'm1 => b@x.test R=route:x.test T=smtp H=mx.x.test [192.0.2.1]:25 C="250 OK \\"id\\""'],
    [{ status: "deferred", errno: 111, errstr: "Connection refused", host: { ...host, ip: "" } }, "m1 == b@x.test R=route:x.test T=smtp H=mx.x.test:25 defer (111): Connection refused"],
    [{ status: "failed", errno: 0, errstr: "550 no", host: { ...host, ip: "2001:db8::1" } }, "m1 ** b@x.test R=route:x.test T=smtp H=mx.x.test [[2001:db8::1]]:25: 550 no"],
  ] as const)("%j", (result, want) => expect(deliveryLogLine(ctx, result)).toBe(want));
  it("leaves out T= when there is no transport", () => {
    expect(deliveryLogLine({ ...ctx, routerName: "", transportName: "" }, { status: "failed", errno: -52, errstr: "Unrouteable address" })).toBe("m1 ** b@x.test R=: Unrouteable address");
  });
});

describe("retry schedule and state keys", () => {
  it.each([
    [1, 60_000],
    [2, 300_000],
    [5, 3_600_000],
    [9, 3_600_000],
  ])("attempt %i -> %i ms", (attempt, want) => expect(retryDelayMs([60, 300, 900, 1800, 3600], attempt)).toBe(want));
  it("keeps safe ids and hashes the rest", () => {
    expect(stateKey("1abcD-000xyz-AB")).toBe("1abcD-000xyz-AB");
    expect(stateKey("<id@host>")).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(stateKey("a..b")).toMatch(/^sha256-/);
  });
});
