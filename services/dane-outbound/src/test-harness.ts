/** Test-only wiring for the integration tests: real nats-server, a real Outcomes gRPC server, the service in-process. */
import { Writable } from "node:stream";
import { codecs, connectBus, natsConfigSchema, subjects, type Bus } from "@postern/bus";
import { type Event, MailRecord, OutcomesService, type OutcomesServer, type RecordResponse } from "@postern/proto";
import { createLogger, runService, startGrpcServer, type GrpcServerHandle, type ServiceContext } from "@postern/service-kit";
import { freePort, startNats, type Backend } from "@postern/testing";
import { configSchema, startDaneOutbound, type Config } from "./index";

export interface LogRecord {
  event?: string;
  msg: string;
  message_id?: string;
  [k: string]: unknown;
}

/** Outcomes.Record collected in memory, startable and stoppable on a fixed port. */
export class OutcomesSink {
  readonly events: Event[] = [];
  /** Outcomes.Record calls received (a batch counts once). */
  calls = 0;
  private handle: GrpcServerHandle | undefined;
  private waiters = new Set<() => void>();
  constructor(readonly port: number) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const impl: OutcomesServer = {
      record: (call, cb) => {
        const { event, events } = call.request;
        this.calls += 1;
        if (event) this.events.push(event);
        const results = events.map((e) => {
          this.events.push(e);
          return { eventId: e.id, sequence: String(this.events.length), duplicate: false, code: 0, error: "" };
        });
        for (const w of [...this.waiters]) w();
        const res: RecordResponse = { eventId: event?.id ?? "", sequence: String(this.events.length), duplicate: false, results };
        cb(null, res);
      },
    };
    this.handle = await startGrpcServer({
      listen: this.address,
      logger: createLogger({ name: "outcomes-sink", level: "error" }),
      services: [[OutcomesService, impl]],
    });
  }

  async stop(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  of(messageId: string, name?: string): Event[] {
    return this.events.filter((e) => e.messageId === messageId && (name === undefined || e.name === name));
  }

  /** Waits until `done(events of messageId)` holds. */
  waitFor(messageId: string, done: (events: Event[]) => boolean, timeoutMs = 15000): Promise<Event[]> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const got = this.of(messageId);
        if (!done(got)) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(got);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`events of ${messageId} after ${timeoutMs} ms: ${this.of(messageId).map((e) => e.name).join(", ")}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

export const hasComplete = (events: Event[]): boolean => events.some((e) => e.name === "msg:complete");

export interface Harness {
  nats: Backend;
  bus: Bus;
  logs: LogRecord[];
  start(dane: Record<string, unknown>): Promise<ServiceContext<Config>>;
  publish(fields: Partial<MailRecord> & { messageId: string }): Promise<void>;
  publishRaw(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const nats = await startNats();
  const logger = createLogger({ name: "test", level: "error" });
  const bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "test", logger });
  const logs: LogRecord[] = [];
  const contexts: Array<ServiceContext<Config>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) logs.push(JSON.parse(line) as LogRecord);
      cb();
    },
  });
  return {
    nats,
    bus,
    logs,
    async start(dane) {
      const ctx = await runService({
        name: "dane-outbound",
        schema: configSchema,
        config: {
          log: { level: "info" },
          nats: { servers: [nats.url], jetstream: { mail: { storage: "memory" }, events: { storage: "memory" }, spool: { storage: "memory" }, kv: { storage: "memory" } } },
          dane_outbound: { helo_name: "outbound.test", ...dane },
        },
        env: {},
        installSignalHandlers: false,
        exitOnError: false,
        logDestination: destination,
        start: startDaneOutbound,
      });
      contexts.push(ctx);
      return ctx;
    },
    async publish(fields) {
      const record = MailRecord.fromPartial({ receivedAt: new Date(), sender: "alice@example.org", ...fields });
      await bus.js.publish(subjects.mailQueued, codecs.mail.encode(record), { msgID: record.messageId });
    },
    async publishRaw(data) {
      await bus.js.publish(subjects.mailQueued, data);
    },
    async close() {
      for (const ctx of contexts) await ctx.shutdown.trigger("test done");
      await bus.drain();
      await nats.stop();
    },
  };
}

export function inlineBody(text: string): MailRecord["body"] {
  const value = Buffer.from(text, "utf8");
  return { location: { $case: "inline", value }, size: String(value.length), sha256: "" };
}

export function rcpts(...addresses: string[]): MailRecord["recipients"] {
  return addresses.map((address, index) => ({ address, index, notify: [], orcpt: "" }));
}

export { freePort };
