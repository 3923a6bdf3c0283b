import { createHealth, type HealthState } from "./health";
import { type HttpServerHandle, startHttpServer } from "./http";
import { createMetrics } from "./metrics";
import { memoryLogger } from "./testlog";

describe("http endpoints", () => {
  let health: HealthState;
  let server: HttpServerHandle;
  let base: string;

  beforeEach(async () => {
    health = createHealth();
    server = await startHttpServer({ host: "127.0.0.1", port: 0, registry: createMetrics("unit"), health, logger: memoryLogger().logger });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterEach(() => server.close());

  async function get(path: string, method = "GET"): Promise<{ status: number; body: string; type: string | null }> {
    const res = await fetch(base + path, { method });
    return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
  }

  it("serves prometheus text with the postern_ prefix and the service label", async () => {
    const res = await get("/metrics");
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/^# HELP postern_process_cpu_user_seconds_total /m);
    expect(res.body).toContain('service="unit"');
  });

  it("healthz follows start and shutdown", async () => {
    expect(await get("/healthz")).toMatchObject({ status: 503, body: '{"status":"starting"}' });
    health.setStarted();
    expect(await get("/healthz")).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    health.setShuttingDown();
    expect(await get("/healthz")).toMatchObject({ status: 503, body: '{"status":"shutting_down"}' });
  });

  it("readyz is 200 only when every check passes, else names the failing ones", async () => {
    health.setStarted();
    expect((await get("/readyz")).status).toBe(200);
    let natsUp = false;
    health.addCheck("nats", () => natsUp);
    health.addCheck("async", () => Promise.resolve(true));
    health.addCheck("throws", () => {
      throw new Error("boom");
    });
    health.addCheck("hangs", () => new Promise<boolean>(() => undefined));
    const started = Date.now();
    const res = await get("/readyz");
    expect(Date.now() - started).toBeLessThan(2500); // the hanging check is cut at 1 s
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ status: "not_ready", failing: ["nats", "throws", "hangs"] });
    natsUp = true;
    health.addCheck("throws", () => true);
    health.addCheck("hangs", () => true);
    expect(await get("/readyz")).toMatchObject({ status: 200, body: '{"status":"ok"}' });
  });

  it("readyz is 503 before start even with no checks", async () => {
    expect(await get("/readyz")).toMatchObject({ status: 503, body: '{"status":"starting","failing":[]}' });
  });

  it.each([
    ["/", "GET", 404],
    ["/metrics/x", "GET", 404],
    ["/healthz?probe=1", "GET", 503],
    ["/healthz", "HEAD", 503],
    ["/metrics", "POST", 405],
  ])("%s %s -> %d", async (path, method, want) => {
    expect((await get(path, method)).status).toBe(want);
  });

  it("close is idempotent and frees the port", async () => {
    await Promise.all([server.close(), server.close()]);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
