/**
 * Test support for the edge (excluded from the build): the edge in-process
 * through runService against real servers, a small SMTP client, and a reader
 * for the MAIL stream.
 */
import { connect, type Socket } from "node:net";
import { Writable } from "node:stream";
import { type Bus, codecs, connectBus, natsConfigSchema } from "@postern/bus";
import { type MailRecord } from "@postern/proto";
import { runService, type ServiceContext } from "@postern/service-kit";
import { type Backend, freePort } from "@postern/testing";
import { pino } from "pino";
import { configSchema, type EdgeConfig, startEdge } from "../index";

/** JSON log lines of the edge under test. */
export class LogSink extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

export interface TestEdge {
  ctx: ServiceContext<EdgeConfig>;
  port: number;
  logs: LogSink;
  stop(): Promise<void>;
}

export function natsSection(nats: Backend): Record<string, unknown> {
  const memory = { storage: "memory" };
  return { servers: [nats.url], reconnect_wait_ms: 200, jetstream: { mail: memory, events: memory, spool: memory, kv: memory } };
}

export async function startTestEdge(nats: Backend, edge: Record<string, unknown> = {}): Promise<TestEdge> {
  const port = await freePort();
  const logs = new LogSink();
  const config = {
    log: { level: "info" },
    nats: natsSection(nats),
    edge: { smtp_listen: [`127.0.0.1:${port}`], grpc: { listen: "127.0.0.1:0" }, hostname: "edge.test", smtp_shutdown_grace_ms: 1000, ...edge },
  };
  const ctx = await runService({ name: "edge", schema: configSchema, config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: logs, start: startEdge });
  return { ctx, port, logs, stop: () => ctx.shutdown.trigger("test finished") };
}

/** A line-oriented SMTP client that collects complete replies. */
export class SmtpTestClient {
  private buffer = "";
  private replies: string[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (s: string) => {
      this.buffer += s;
      let m: RegExpExecArray | null;
      while ((m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer)) !== null) {
        this.replies.push(m[0]);
        this.buffer = this.buffer.slice(m[0].length);
      }
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => undefined);
  }

  static async open(port: number): Promise<SmtpTestClient> {
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    return new SmtpTestClient(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** The next `n` complete replies (rejects when the connection closes first or after timeoutMs). */
  async read(n = 1, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < n) {
      if (this.closed) throw new Error(`connection closed after ${this.replies.length}/${n} replies: ${JSON.stringify(this.replies)}`);
      if (Date.now() > deadline) throw new Error(`timeout after ${this.replies.length}/${n} replies: ${JSON.stringify(this.replies)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.replies.splice(0, n);
  }

  /** Resolves when the server has closed the connection. */
  async closedByServer(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("server did not close the connection");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends one pipelined transaction and returns every reply after the banner. */
export async function sendPipelined(port: number, opts: { from: string; to: string[]; body: string | Buffer; helo?: string }): Promise<string[]> {
  const c = await SmtpTestClient.open(port);
  try {
    await c.read(1);
    const rcpts = opts.to.map((t) => `RCPT TO:<${t}>\r\n`).join("");
    c.send(`EHLO ${opts.helo ?? "client.test"}\r\nMAIL FROM:<${opts.from}>\r\n${rcpts}DATA\r\n`);
    const head = await c.read(3 + opts.to.length);
    if (!head.at(-1)?.startsWith("354")) return head;
    c.send(Buffer.concat([Buffer.from(opts.body), Buffer.from(".\r\nQUIT\r\n")]));
    return [...head, ...(await c.read(2))];
  } finally {
    c.close();
  }
}

/** Reads MAIL records through a durable explicit-ack consumer. */
export class MailReader {
  private constructor(readonly bus: Bus) {}

  static async open(nats: Backend): Promise<MailReader> {
    const bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "edge-test", logger: pino({ level: "silent" }) });
    await bus.jsm.consumers.add("MAIL", { durable_name: "edge-test", ack_policy: "explicit", deliver_policy: "all" });
    return new MailReader(bus);
  }

  /** The record with this message id (records before it are acked and skipped). */
  async record(id: string): Promise<MailRecord> {
    const consumer = await this.bus.js.consumers.get("MAIL", "edge-test");
    for (;;) {
      const m = await consumer.next({ expires: 5000 });
      if (m === null) throw new Error(`no MAIL record ${id}`);
      m.ack();
      const r = codecs.mail.decode(m.data);
      if (r.messageId === id) return r;
    }
  }

  close(): Promise<void> {
    return this.bus.drain();
  }
}

export const idOf = (reply: string | undefined): string => /id=(\S+)/.exec(reply ?? "")?.[1] ?? "";
