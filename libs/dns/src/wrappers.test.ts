import type { QueryEvent } from "./diagnostics";
import { parseServers } from "./resolver";
import type { Exchange, ExchangeResult, Handler, Outcome, DnsRecord, Resolution } from "./types";
import { withDedup, withMetrics, withNameCheck, withRetry } from "./wrappers";

const answer: Outcome<DnsRecord> = { kind: "answer", records: [], authenticated: false, ttl: 60 };
const resolution = (outcome: Outcome<DnsRecord>): Resolution => ({ outcome, server: "s", transport: "udp", cached: false, shared: false, ignored: 0 });

describe("withRetry", () => {
  const servers = parseServers(["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
  function scripted(script: Record<string, Outcome<DnsRecord>[]>): { exchange: Exchange; calls: string[] } {
    const calls: string[] = [];
    const exchange: Exchange = (server) => {
      calls.push(server.host);
      const outcome = script[server.host]?.shift() ?? { kind: "timeout" };
      return Promise.resolve<ExchangeResult>({ outcome, transport: "udp", ignored: 1 });
    };
    return { exchange, calls };
  }

  const cases: { name: string; script: Record<string, Outcome<DnsRecord>[]>; attempts: number; wantKind: string; wantServer: string | null; wantCalls: string[] }[] = [
    { name: "first server answers", script: { "192.0.2.1": [answer] }, attempts: 2, wantKind: "answer", wantServer: "192.0.2.1:53", wantCalls: ["192.0.2.1"] },
    { name: "timeout moves on", script: { "192.0.2.2": [answer] }, attempts: 2, wantKind: "answer", wantServer: "192.0.2.2:53", wantCalls: ["192.0.2.1", "192.0.2.2"] },
    { name: "servfail moves on", script: { "192.0.2.1": [{ kind: "servfail" }], "192.0.2.2": [{ kind: "nxdomain", authenticated: false, ttl: 0 }] }, attempts: 1, wantKind: "nxdomain", wantServer: "192.0.2.2:53", wantCalls: ["192.0.2.1", "192.0.2.2"] },
    { name: "nodata is final", script: { "192.0.2.1": [{ kind: "nodata", authenticated: false, ttl: 0 }], "192.0.2.2": [answer] }, attempts: 1, wantKind: "nodata", wantServer: "192.0.2.1:53", wantCalls: ["192.0.2.1"] },
    { name: "second pass", script: { "192.0.2.3": [{ kind: "refused" }, answer] }, attempts: 2, wantKind: "answer", wantServer: "192.0.2.3:53", wantCalls: ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1", "192.0.2.2", "192.0.2.3"] },
    { name: "all silent", script: {}, attempts: 2, wantKind: "timeout", wantServer: "192.0.2.3:53", wantCalls: ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1", "192.0.2.2", "192.0.2.3"] },
    { name: "a server's word beats a later timeout", script: { "192.0.2.2": [{ kind: "servfail" }] }, attempts: 1, wantKind: "servfail", wantServer: "192.0.2.2:53", wantCalls: ["192.0.2.1", "192.0.2.2", "192.0.2.3"] },
    { name: "the last word wins", script: { "192.0.2.1": [{ kind: "servfail" }], "192.0.2.2": [{ kind: "refused" }] }, attempts: 1, wantKind: "refused", wantServer: "192.0.2.2:53", wantCalls: ["192.0.2.1", "192.0.2.2", "192.0.2.3"] },
  ];
  it.each(cases)("$name", async ({ script, attempts, wantKind, wantServer, wantCalls }) => {
    const { exchange, calls } = scripted(script);
    const r = await withRetry(servers, exchange, { attempts })({ name: "example.com", type: "A" });
    expect(r.outcome.kind).toBe(wantKind);
    expect(r.server).toBe(wantServer);
    expect(calls).toEqual(wantCalls);
    expect(r.ignored).toBe(wantCalls.length);
  });
});

describe("withDedup", () => {
  function deferred(): { handler: Handler; calls: number; release: (r: Resolution) => void } {
    const state = { calls: 0, release: (_r: Resolution): void => undefined };
    const handler: Handler = () => {
      state.calls++;
      return new Promise((resolve) => (state.release = resolve));
    };
    return {
      handler,
      get calls() {
        return state.calls;
      },
      release: (r) => state.release(r),
    };
  }

  it("joins identical concurrent queries, case-insensitively", async () => {
    const d = deferred();
    const inflight = new Map<string, Promise<Resolution>>();
    const h = withDedup(d.handler, inflight);
    const p1 = h({ name: "example.com", type: "A" });
    const p2 = h({ name: "EXAMPLE.com.", type: "A" });
    expect(d.calls).toBe(1);
    expect(inflight.size).toBe(1);
    d.release(resolution(answer));
    const [r1, r2] = await Promise.all([p1, p2]);
    expect(r1.shared).toBe(false);
    expect(r2.shared).toBe(true);
    expect(r2.outcome).toBe(r1.outcome);
    expect(inflight.size).toBe(0);
  });

  it("keeps different types apart and starts afresh once settled", async () => {
    const d = deferred();
    const h = withDedup(d.handler);
    const pa = h({ name: "example.com", type: "A" });
    d.release(resolution(answer));
    const pmx = h({ name: "example.com", type: "MX" });
    expect(d.calls).toBe(2);
    d.release(resolution(answer));
    await Promise.all([pa, pmx]);
    const again = h({ name: "example.com", type: "A" });
    expect(d.calls).toBe(3);
    d.release(resolution(answer));
    await again;
  });

  it("passes a rejection (a bug below) to every joined caller and forgets it", async () => {
    let calls = 0;
    const h = withDedup(() => {
      calls++;
      return Promise.reject(new Error("bug"));
    });
    const results = await Promise.allSettled([h({ name: "x", type: "A" }), h({ name: "x", type: "A" })]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    await expect(h({ name: "x", type: "A" })).rejects.toThrow("bug");
    expect(calls).toBe(2);
  });
});

describe("withNameCheck", () => {
  it("answers invalid names with an error outcome and sends nothing", async () => {
    const seen: string[] = [];
    const h = withNameCheck((q) => {
      seen.push(q.name);
      return Promise.resolve(resolution(answer));
    });
    expect((await h({ name: `${"a".repeat(64)}.example`, type: "A" })).outcome).toMatchObject({ kind: "error", code: "POSTERN_DNS_INVALID_NAME" });
    await h({ name: "example.com.", type: "A" });
    expect(seen).toEqual(["example.com"]);
  });
});

describe("withMetrics", () => {
  it("reports one event per call with timing", async () => {
    const events: QueryEvent[] = [];
    let t = 0;
    const h = withMetrics(
      () => {
        t += 25;
        return Promise.resolve({ ...resolution({ ...answer, authenticated: true }), cached: true, ignored: 2 });
      },
      (e) => events.push(e),
      () => t,
    );
    await h({ name: "example.com", type: "MX" });
    expect(events).toEqual([
      { name: "example.com", type: "MX", outcome: "answer", server: "s", ms: 25, cached: true, shared: false, transport: "udp", ignored: 2, authenticated: true },
    ]);
  });
});

describe("wrappers without async functions: what a handler below throws still rejects", () => {
  const throwing: Handler = () => {
    throw new Error("bug below");
  };
  const rejecting: Handler = () => Promise.reject(new Error("bug below"));

  it.each([
    ["withNameCheck, throwing", () => withNameCheck(throwing)],
    ["withNameCheck, rejecting", () => withNameCheck(rejecting)],
    ["withMetrics, throwing", () => withMetrics(throwing, () => undefined)],
    ["withMetrics, rejecting", () => withMetrics(rejecting, () => undefined)],
  ] as const)("%s", async (_name, make) => {
    let result: Promise<Resolution> | undefined;
    expect(() => {
      result = make()({ name: "example.com", type: "A" });
    }).not.toThrow();
    await expect(result).rejects.toThrow("bug below");
  });

  it("withNameCheck passes the name without its trailing dot, and the same query object otherwise", async () => {
    const seen: unknown[] = [];
    const h = withNameCheck((q) => (seen.push(q), Promise.resolve(resolution(answer))));
    const query = { name: "example.com", type: "A" } as const;
    await h(query);
    await h({ name: "example.com.", type: "A" });
    expect(seen[0]).toBe(query);
    expect(seen[1]).toEqual({ name: "example.com", type: "A" });
  });
});
