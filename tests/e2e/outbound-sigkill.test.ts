import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codecs, connectBus, ensureTopology, natsConfigSchema, subjects, type Bus } from "@postern/bus";
import { type Event, MailRecord, OutcomesService, type OutcomesServer } from "@postern/proto";
import { createLogger, startGrpcServer, type GrpcServerHandle } from "@postern/service-kit";
import { freePort, startNats, startSmtpSink, type Backend, type SmtpSink } from "@postern/testing";

/**
 * Issue 9, done-when 2: dane-outbound runs as its own process and is killed with SIGKILL in
 * the middle of a 2,000-message run, then started again. Every message must reach the sink
 * exactly once, or the extra copy must be accounted for by an event (a msg:delivery marked
 * possible_duplicate: the crash came after the server took the message and before the state
 * write recorded it, the one window no SMTP client can close).
 */
const MESSAGES = 2000;
const ROOT = join(__dirname, "../..");
const LAUNCHER = join(ROOT, "bench/outbound/dane-outbound-service.cjs");

class Outcomes {
  readonly events: Event[] = [];
  private handle: GrpcServerHandle | undefined;
  constructor(readonly port: number) {}
  async start(): Promise<void> {
    const impl: OutcomesServer = {
      record: (call, cb) => {
        const { event, events } = call.request;
        if (event) this.events.push(event);
        // A batch (RecordRequest.events): one result per event, each stored.
        const results = events.map((e) => ({ eventId: e.id, sequence: String(this.events.push(e)), duplicate: false, code: 0, error: "" }));
        cb(null, { eventId: event?.id ?? "", sequence: String(this.events.length), duplicate: false, results });
      },
    };
    this.handle = await startGrpcServer({ listen: `127.0.0.1:${this.port}`, logger: createLogger({ name: "outcomes", level: "error" }), services: [[OutcomesService, impl]] });
  }
  async stop(): Promise<void> {
    await this.handle?.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("dane-outbound killed with SIGKILL in the middle of a run", () => {
  let nats: Backend;
  let bus: Bus;
  let sink: SmtpSink;
  let outcomes: Outcomes;
  let work: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    nats = await startNats();
    const natsConfig = natsConfigSchema.parse({ servers: [nats.url] });
    bus = await connectBus(natsConfig, { name: "sigkill-test", logger: createLogger({ name: "t", level: "error" }) });
    await ensureTopology(bus, natsConfig.jetstream);
    sink = await startSmtpSink();
    outcomes = new Outcomes(await freePort());
    await outcomes.start();
    work = mkdtempSync(join(tmpdir(), "postern-sigkill-"));
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await bus?.drain();
    await nats?.stop();
    await sink?.stop();
    await outcomes?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function startOutbound(name: string): { child: ChildProcess; exited: Promise<unknown> } {
    const config = {
      log: { level: "info" },
      nats: { servers: [nats.url] },
      dane_outbound: {
        http: { port: 0 },
        helo_name: "outbound.test",
        routes: { "*": `smtp:127.0.0.1:${sink.port}` },
        delivery_events: { address: `127.0.0.1:${outcomes.port}` },
        concurrency: 32,
        // A killed instance's messages come back after ack_wait: keep it short for the test.
        ack_wait_seconds: 3,
      },
    };
    const file = join(work, `${name}.json`);
    writeFileSync(file, JSON.stringify(config));
    const log = openSync(join(work, `${name}.log`), "a");
    const child = spawn(process.execPath, ["--conditions=@postern/source", LAUNCHER], { cwd: ROOT, env: { ...process.env, POSTERN_CONFIG: file }, stdio: ["pipe", log, log] });
    children.push(child);
    return { child, exited: new Promise((r) => child.once("exit", r)) };
  }

  it(
    "ends with every message delivered exactly once, or the duplicate accounted for by an event",
    async () => {
      const first = startOutbound("first");
      const ids = Array.from({ length: MESSAGES }, (_, i) => `kill-${i}`);
      await Promise.all(
        ids.map(async (id) => {
          const body = Buffer.from(`Message-ID: <${id}@sigkill.test>\r\nSubject: ${id}\r\n\r\nbody of ${id}\r\n`);
          const record = MailRecord.fromPartial({
            messageId: id,
            receivedAt: new Date(),
            sender: "sender@sigkill.test",
            recipients: [{ address: "rcpt@sink.test", index: 0, notify: [], orcpt: "" }],
            body: { location: { $case: "inline", value: body }, size: String(body.length), sha256: "" },
          });
          await bus.js.publish(subjects.mailQueued, codecs.mail.encode(record), { msgID: id });
        }),
      );
      await until("a third of the messages", () => sink.messages.length >= MESSAGES / 3, 120_000);
      first.child.kill("SIGKILL");
      await first.exited;
      const atKill = sink.messages.length;
      expect(atKill).toBeLessThan(MESSAGES);

      const second = startOutbound("second");
      const complete = (): Set<string> => new Set(outcomes.events.filter((e) => e.name === "msg:complete").map((e) => e.messageId));
      await until("msg:complete for every message", () => ids.every((id) => complete().has(id)), 240_000);
      await until("an empty MAIL consumer", async () => {
        const info = await bus.jsm.consumers.info("MAIL", "outbound");
        return info.num_pending === 0 && info.num_ack_pending === 0;
      }, 60_000);
      second.child.stdin?.end();
      await second.exited;

      const copies = new Map<string, number>();
      for (const m of sink.messages) {
        const id = /^Message-ID: <([^@>]+)@sigkill\.test>/im.exec(m.data.toString("utf8"))?.[1] ?? "?";
        copies.set(id, (copies.get(id) ?? 0) + 1);
      }
      expect([...copies.keys()].sort()).toEqual([...ids].sort());
      const duplicated = [...copies].filter(([, n]) => n > 1).map(([id]) => id);
      const flagged = new Set(outcomes.events.filter((e) => e.name === "msg:delivery" && e.attributes.possible_duplicate === "true").map((e) => e.messageId));
      for (const id of duplicated) expect(flagged.has(id) ? id : `${id} duplicated without a possible_duplicate event`).toBe(id);
      expect(duplicated.length).toBeLessThanOrEqual(32);
      const logs = readFileSync(join(work, "second.log"), "utf8");
      expect(logs).toContain("consuming MAIL");
      process.stderr.write(
        `[sigkill] ${MESSAGES} messages, ${atKill} at the kill, sink got ${sink.messages.length}, ${duplicated.length} duplicated (all flagged), ${flagged.size} flagged possible duplicates\n`,
      );
    },
    600_000,
  );
});
