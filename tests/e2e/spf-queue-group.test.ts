import { runService, type ServiceContext } from "@postern/service-kit";
import { configSchema as edgeSchema, type EdgeConfig, startEdge } from "@postern/edge";
import type { ZoneData } from "@postern/spf";
import { type Backend, freePort, startNats } from "@postern/testing";
import { LogSink } from "@postern/testing";
import { SmtpSession, type SpfProcess, startSpfProcess } from "./spf-support";

const EDGE_SPF_TIMEOUT_MS = 1_000;
/** how long nats-server may take to notice a dead subscriber (a killed process's socket closes at once) */
const KILL_NOTICED_MS = 500;

const zone: ZoneData = {
  "pass.test": [{ TXT: "v=spf1 ip4:127.0.0.0/8 ip6:::1 -all" }],
  "fail.test": [{ TXT: "v=spf1 -all" }],
};

interface Outcome {
  started: number;
  ms: number;
  reply: string;
}

/**
 * Issue 7, "done when" 3: the real edge publishes spf.check at MAIL FROM and
 * waits at RCPT; two spf service processes share the requests through the
 * queue group, and SIGKILL of one during a run costs only the verdicts it
 * held, which the edge's timeout rule turns into 451 4.7.24.
 */
describe("spf queue group with the real edge", () => {
  let nats: Backend;
  let edge: ServiceContext<EdgeConfig>;
  let smtpPort: number;
  let workers: SpfProcess[] = [];

  beforeAll(async () => {
    nats = await startNats();
    const memory = { storage: "memory" };
    const jetstream = { mail: memory, events: memory, spool: memory, kv: memory };
    const env = {
      POSTERN_NATS__SERVERS: nats.url,
      POSTERN_NATS__JETSTREAM: JSON.stringify(jetstream),
      POSTERN_SPF__GRPC__LISTEN: "127.0.0.1:0",
      POSTERN_SPF__HTTP__PORT: "0",
      POSTERN_SPF__RECEIVER: "spf.e2e.test",
      POSTERN_LOG__LEVEL: "info",
      POSTERN_TEST_SPF_DNS_DELAY_MS: "20",
    };
    workers = await Promise.all([startSpfProcess(env, zone), startSpfProcess(env, zone)]);
    smtpPort = await freePort();
    const config = {
      log: { level: "warn" },
      nats: { servers: [nats.url], reconnect_wait_ms: 200, jetstream },
      edge: {
        smtp_listen: [`127.0.0.1:${smtpPort}`],
        grpc: { listen: "127.0.0.1:0" },
        hostname: "edge.e2e.test",
        local_domains: ["localhost"],
        relay_from_hosts: [], // loopback clients are checked like any other
        spf_timeout_ms: EDGE_SPF_TIMEOUT_MS,
        smtp_shutdown_grace_ms: 1_000,
      },
    };
    edge = await runService({ name: "edge", schema: edgeSchema, config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: new LogSink(), start: startEdge });
  }, 60_000);

  afterAll(async () => {
    await edge?.shutdown.trigger("test finished");
    await Promise.all(workers.map((w) => w.kill("SIGTERM")));
    await nats?.stop();
  });

  /** MAIL FROM + RCPT TO on an open session; the RCPT reply carries the SPF decision. */
  async function transaction(s: SmtpSession, sender: string): Promise<Outcome> {
    const started = Date.now();
    expect(await s.command(`MAIL FROM:<${sender}>`)).toMatch(/^250/);
    const reply = await s.command("RCPT TO:<user@localhost>");
    const ms = Date.now() - started;
    expect(await s.command("RSET")).toMatch(/^250/);
    return { started, ms, reply };
  }

  async function loop(count: number, sender: (i: number) => string, until?: () => boolean): Promise<Outcome[]> {
    const s = await SmtpSession.open(smtpPort);
    const out: Outcome[] = [];
    try {
      for (let i = 0; until ? !until() : i < count; i++) out.push(await transaction(s, sender(i)));
    } finally {
      s.close();
    }
    return out;
  }

  it("shares the checks between both instances and the edge acts on each verdict", async () => {
    const before = await Promise.all(workers.map((w) => w.counter("postern_spf_checks_total", 'source="nats"')));
    const runs = await Promise.all(Array.from({ length: 10 }, (_, c) => loop(20, (i) => (i % 5 === 4 ? `f${c}.${i}@fail.test` : `p${c}.${i}@pass.test`))));
    const outcomes = runs.flat();
    expect(outcomes).toHaveLength(200);
    expect(outcomes.filter((o) => o.reply.startsWith("250"))).toHaveLength(160);
    expect(outcomes.filter((o) => o.reply.startsWith("550 5.7.23"))).toHaveLength(40);
    const after = await Promise.all(workers.map((w) => w.counter("postern_spf_checks_total", 'source="nats"')));
    const perInstance = after.map((n, i) => n - (before[i] ?? 0));
    expect(perInstance[0]! + perInstance[1]!).toBe(200);
    expect(Math.min(...perInstance)).toBeGreaterThan(40);
  }, 60_000);

  it("loses no verdict beyond the edge's timeout rule when one instance is killed mid-run", async () => {
    const [victim, survivor] = workers as [SpfProcess, SpfProcess];
    const survivorBefore = await survivor.counter("postern_spf_checks_total", 'source="nats"');
    const runUntil = Date.now() + 3_000;
    const sessions = Array.from({ length: 20 }, (_, c) => loop(0, (i) => `k${c}.${i}@pass.test`, () => Date.now() > runUntil));
    await new Promise((r) => setTimeout(r, 1_000));
    // Kill it while it holds checks (on a loaded machine the sessions may all be between
    // transactions at a given moment; then nothing is lost and the test proves nothing).
    for (let tries = 0; tries < 200 && (await victim.counter("postern_spf_checks_in_flight")) === 0; tries++) await new Promise((r) => setTimeout(r, 5));
    const killedAt = Date.now();
    await victim.kill("SIGKILL");
    const outcomes = (await Promise.all(sessions)).flat();

    const passed = outcomes.filter((o) => o.reply.startsWith("250"));
    const deferred = outcomes.filter((o) => o.reply.startsWith("451 4.7.24"));
    // Every transaction got the verdict's answer or the timeout rule's, nothing else.
    expect(passed.length + deferred.length).toBe(outcomes.length);
    // Only checks the victim held when it died were lost (it always holds some: each
    // answer takes 20 ms): at most one per session, each started before the kill, and
    // each waited the edge's full timeout.
    expect(deferred.length).toBeGreaterThan(0);
    expect(deferred.length).toBeLessThanOrEqual(20);
    for (const o of deferred) {
      expect(o.started).toBeLessThanOrEqual(killedAt + KILL_NOTICED_MS);
      expect(o.ms).toBeGreaterThanOrEqual(EDGE_SPF_TIMEOUT_MS - 50);
    }
    // After the kill the survivor answers everything.
    const late = outcomes.filter((o) => o.started > killedAt + KILL_NOTICED_MS);
    // (about 1,500 on a quiet machine; a loaded one managed 240 transactions in all)
    expect(late.length).toBeGreaterThan(20);
    expect(late.every((o) => o.reply.startsWith("250"))).toBe(true);
    const survivorChecks = (await survivor.counter("postern_spf_checks_total", 'source="nats"')) - survivorBefore;
    expect(survivorChecks).toBeGreaterThanOrEqual(late.length);
    workers = [survivor];
  }, 60_000);
});
