import { type Backend, freePort, type SmtpSink, startNats, startSmtpSink } from "@postern/testing";
import { built, NOT_BUILT, type ServiceProcess, SmtpClient, startNxdomainDns, startService, waitFor } from "./support";

/**
 * Issue #13, done-when 3: horizontal scaling as Kubernetes does it, with
 * separate processes on one NATS: three dane-outbound instances share the
 * JetStream consumer "outbound" and two spf instances share the queue group
 * "spf". Every message must be handled by exactly one of them: delivered once
 * (counted by the test's own message id at a loopback SMTP sink), checked once.
 */
const MESSAGES = 60;
const SESSIONS = 6;

(built ? describe : describe.skip)(`scaling: 3 dane-outbound + 2 spf processes on one NATS${built ? "" : ` (skipped: ${NOT_BUILT})`}`, () => {
  let nats: Backend;
  let sink: SmtpSink;
  let dns: Awaited<ReturnType<typeof startNxdomainDns>>;
  const procs: ServiceProcess[] = [];
  let outbound: ServiceProcess[] = [];
  let spf: ServiceProcess[] = [];
  let smtpPort: number;

  beforeAll(async () => {
    [nats, sink, dns] = await Promise.all([startNats(), startSmtpSink({ hostname: "sink.deploy.test" }), startNxdomainDns()]);
    const common = { POSTERN_NATS__SERVERS: nats.url, POSTERN_LOG__LEVEL: "info" };
    const eventsAddress = `127.0.0.1:${await freePort()}`;
    procs.push(await startService("delivery-events", { ...common, POSTERN_DELIVERY_EVENTS__GRPC__LISTEN: eventsAddress }));
    outbound = await Promise.all(
      [1, 2, 3].map((n) =>
        startService("dane-outbound", {
          ...common,
          POSTERN_DANE_OUTBOUND__HELO_NAME: `outbound-${n}.deploy.test`,
          POSTERN_DANE_OUTBOUND__ROUTES: JSON.stringify({ "example.net": `smtp:127.0.0.1:${sink.port}` }),
          POSTERN_DANE_OUTBOUND__DELIVERY_EVENTS__ADDRESS: eventsAddress,
          POSTERN_DANE_OUTBOUND__CONCURRENCY: "2",
        }),
      ),
    );
    spf = await Promise.all(
      [1, 2].map((n) =>
        startService("spf", {
          ...common,
          POSTERN_SPF__GRPC__LISTEN: "127.0.0.1:0",
          POSTERN_SPF__RECEIVER: `spf-${n}.deploy.test`,
          POSTERN_SPF__DNS__SERVERS: dns.address,
        }),
      ),
    );
    smtpPort = await freePort();
    procs.push(
      await startService("edge", {
        ...common,
        POSTERN_EDGE__SMTP_LISTEN: `127.0.0.1:${smtpPort}`,
        POSTERN_EDGE__GRPC__LISTEN: "127.0.0.1:0",
        POSTERN_EDGE__HOSTNAME: "edge.deploy.test",
        POSTERN_EDGE__LOCAL_DOMAINS: '["example.net"]',
        // loopback clients get their SPF check like anyone else
        POSTERN_EDGE__RELAY_FROM_HOSTS: "[]",
      }),
    );
    procs.push(...outbound, ...spf);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all([nats?.stop(), sink?.stop(), dns?.close()]);
  }, 60_000);

  it("spreads deliveries over the three dane-outbound and checks over the two spf instances, each message handled once", async () => {
    const testId = (i: number): string => `scale-${String(i).padStart(3, "0")}`;
    const replies = await Promise.all(
      Array.from({ length: SESSIONS }, async (_, s) => {
        const c = await SmtpClient.open(smtpPort);
        const out: string[] = [];
        try {
          for (let i = s; i < MESSAGES; i += SESSIONS) {
            out.push(await c.send(`sender${i}@sender.test`, `rcpt${i}@example.net`, `X-Test-Id: ${testId(i)}\r\nSubject: scaling ${i}\r\n\r\nmessage ${i}`));
            expect(await c.command("RSET")).toMatch(/^250/);
          }
        } finally {
          c.close();
        }
        return out;
      }),
    );
    expect(replies.flat().filter((r) => /^250 2\.0\.0 .*id=/.test(r))).toHaveLength(MESSAGES);

    // every message delivered once all outcomes are recorded (no redelivery pending)
    const completed = async (): Promise<number[]> => Promise.all(outbound.map((p) => p.counter("postern_outbound_messages_total", 'result="completed"')));
    await waitFor(`${MESSAGES} completed MAIL records`, async () => (await completed()).reduce((a, b) => a + b, 0) >= MESSAGES, 60_000);
    await sink.waitForMessages(MESSAGES, 10_000);

    const byId = new Map<string, { helo: string; spf: string[] }[]>();
    for (const m of sink.messages) {
      const text = m.data.toString("latin1");
      const id = /^X-Test-Id: (\S+)/m.exec(text)?.[1] ?? "none";
      const spfHeaders = [...text.matchAll(/^Received-SPF: .*$/gm)].map((h) => h[0]);
      byId.set(id, [...(byId.get(id) ?? []), { helo: m.helo, spf: spfHeaders }]);
    }
    // each of the messages arrived exactly once
    expect([...byId.keys()].sort()).toEqual(Array.from({ length: MESSAGES }, (_, i) => testId(i)));
    expect([...byId.values()].filter((copies) => copies.length !== 1)).toEqual([]);
    expect(sink.messages).toHaveLength(MESSAGES);

    // deliveries spread over all three dane-outbound instances (their EHLO names), by their own count too
    const perOutbound = [1, 2, 3].map((n) => sink.messages.filter((m) => m.helo === `outbound-${n}.deploy.test`).length);
    const perOutboundMetric = await completed();
    process.stderr.write(`scaling: deliveries per dane-outbound ${JSON.stringify(perOutbound)} (metrics ${JSON.stringify(perOutboundMetric)})\n`);
    expect(perOutbound.reduce((a, b) => a + b, 0)).toBe(MESSAGES);
    expect(perOutboundMetric).toEqual(perOutbound);
    for (const n of perOutbound) expect(n).toBeGreaterThan(0);

    // SPF checks spread over both spf instances, one check per message
    const perSpf = await Promise.all(spf.map((p) => p.counter("postern_spf_checks_total", 'source="nats"')));
    process.stderr.write(`scaling: SPF checks per spf instance ${JSON.stringify(perSpf)}\n`);
    expect(perSpf.reduce((a, b) => a + b, 0)).toBe(MESSAGES);
    for (const n of perSpf) expect(n).toBeGreaterThan(0);
    // and each delivered message carries exactly one verdict, from the instance its metrics say
    for (const [, [copy]] of byId) expect(copy?.spf).toHaveLength(1);
    const perReceiver = [1, 2].map((n) => [...byId.values()].filter(([copy]) => copy?.spf[0]?.includes(`receiver=spf-${n}.deploy.test`)).length);
    expect(perReceiver).toEqual(perSpf);
  }, 120_000);
});
