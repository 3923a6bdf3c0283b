import { connect } from "node:net";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectBus, natsConfigSchema, type Bus } from "@postern/bus";
import { createLogger, parseConfig } from "@postern/service-kit";
import { type Backend, freePort, LogSink, startNats } from "@postern/testing";
import { built, NOT_BUILT, type ServiceProcess, SmtpClient, sleep, startService, waitFor } from "./support";

/**
 * Issue #13, done-when 2: the services started as their containers start them
 * (node dist/main.js, configuration from the environment only), and SIGTERM to
 * the edge while mail is in flight. Kubernetes sends SIGTERM on every rollout
 * and scale-in; a message must then be either finished (250, delivered) or
 * refused with 421 (the client keeps it and retries), never lost.
 */
(built ? describe : describe.skip)(`SIGTERM drain of the edge${built ? "" : ` (skipped: ${NOT_BUILT})`}`, () => {
  let nats: Backend;
  let bus: Bus;
  let maildir: string;
  let events: ServiceProcess;
  let outbound: ServiceProcess;
  const common = (): Record<string, string> => ({ POSTERN_NATS__SERVERS: nats.url, POSTERN_LOG__LEVEL: "info" });

  beforeAll(async () => {
    nats = await startNats();
    maildir = mkdtempSync(join(tmpdir(), "postern-drain-"));
    const eventsAddress = `127.0.0.1:${await freePort()}`;
    events = await startService("delivery-events", { ...common(), POSTERN_DELIVERY_EVENTS__GRPC__LISTEN: eventsAddress });
    outbound = await startService("dane-outbound", {
      ...common(),
      POSTERN_DANE_OUTBOUND__ROUTES: JSON.stringify({ localhost: `maildir:${maildir}` }),
      POSTERN_DANE_OUTBOUND__DELIVERY_EVENTS__ADDRESS: eventsAddress,
      POSTERN_DANE_OUTBOUND__HELO_NAME: "outbound.deploy.test",
    });
    bus = await connectBus(parseConfig(natsConfigSchema, { servers: [nats.url] }), { name: "drain-test", logger: createLogger({ name: "drain-test", destination: new LogSink() }) });
  }, 90_000);

  afterAll(async () => {
    await bus?.drain();
    await Promise.all([outbound?.stop(), events?.stop()]);
    await nats?.stop();
    if (maildir) rmSync(maildir, { recursive: true, force: true });
  }, 60_000);

  async function startEdge(graceMs: number): Promise<{ edge: ServiceProcess; port: number }> {
    const port = await freePort();
    const edge = await startService("edge", {
      ...common(),
      POSTERN_EDGE__SMTP_LISTEN: `127.0.0.1:${port}`,
      POSTERN_EDGE__GRPC__LISTEN: "127.0.0.1:0",
      POSTERN_EDGE__HOSTNAME: "edge.deploy.test",
      POSTERN_EDGE__SMTP_SHUTDOWN_GRACE_MS: String(graceMs),
    });
    return { edge, port };
  }

  const delivered = (): string[] => {
    try {
      const dir = join(maildir, "user", "new");
      return readdirSync(dir).map((f) => readFileSync(join(dir, f), "latin1"));
    } catch {
      return [];
    }
  };

  const refused = (port: number): Promise<boolean> =>
    new Promise((done) => {
      const s = connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        done(false);
      });
      s.once("error", () => done(true));
    });

  const mailRecords = async (): Promise<number> => (await bus.jsm.streams.info("MAIL")).state.last_seq;

  it("finishes the transaction in flight (250, delivered), sends 421 to idle sessions, refuses new ones, fails readiness, exits 0", async () => {
    const { edge, port } = await startEdge(20_000);
    const busy = await SmtpClient.open(port);
    const idle = await SmtpClient.open(port);
    try {
      await busy.begin("sender@example.org", "user@localhost");
      busy.write("Subject: drain-in-flight\r\n\r\nthe first half, sent before SIGTERM\r\n");
      await sleep(200); // let the edge read it; not a timing assertion

      edge.child.kill("SIGTERM");

      // an idle session is told at once, and may retry elsewhere
      expect(await idle.reply()).toMatch(/^421 /);
      // readiness fails, so Kubernetes takes the pod out of the Service
      await waitFor("/readyz to fail", async () => (await edge.httpStatus("/readyz")) === 503);
      // the listener is closed: new sessions go to another edge
      await waitFor("the SMTP listener to close", () => refused(port));

      // the session in the middle of DATA may finish within the grace time
      busy.write("the second half, sent during the drain\r\n.\r\n");
      const final = await busy.reply();
      expect(final).toMatch(/^250 2\.0\.0 .*id=/);
      // then the edge closes it
      expect(await busy.reply()).toMatch(/^(421 |$)/);

      expect(await edge.exited).toEqual({ code: 0, signal: null });
      await waitFor("delivery to the Maildir", () => delivered().some((m) => m.includes("drain-in-flight")));
      const copies = delivered().filter((m) => m.includes("drain-in-flight"));
      expect(copies).toHaveLength(1);
      expect(copies[0]).toContain("the second half, sent during the drain");
    } finally {
      busy.destroy();
      idle.destroy();
      await edge.stop("SIGKILL");
    }
  }, 90_000);

  it("answers 421 to a transaction that outlasts the grace time and stores nothing of it", async () => {
    const { edge, port } = await startEdge(1_500);
    const slow = await SmtpClient.open(port);
    try {
      const recordsBefore = await mailRecords();
      await slow.begin("sender@example.org", "user@localhost");
      slow.write("Subject: drain-too-slow\r\n\r\nthis client never finishes its DATA\r\n");
      await sleep(200);

      edge.child.kill("SIGTERM");

      // no 250 ever: the client still holds the message and will retry it
      expect(await slow.reply()).toMatch(/^421 /);
      expect(await edge.exited).toEqual({ code: 0, signal: null });
      expect(await mailRecords()).toBe(recordsBefore);
      expect(edge.output()).not.toMatch(/drain-too-slow/);
      expect(delivered().some((m) => m.includes("drain-too-slow"))).toBe(false);
    } finally {
      slow.destroy();
      await edge.stop("SIGKILL");
    }
  }, 90_000);
});
