/**
 * Test support for the edge (excluded from the build): the edge in-process
 * through runService against real servers, a small SMTP client, and a reader
 * for the MAIL stream.
 */
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { type Bus, codecs, connectBus, ensureTopology, natsConfigSchema } from "@postern/bus";
import { type MailRecord } from "@postern/proto";
import { runService, type ServiceContext } from "@postern/service-kit";
import { type Backend, freePort, LogSink } from "@postern/testing";
import { pino } from "pino";
import { configSchema, type EdgeConfig, startEdge } from "../index";

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
    edge: { smtp_listen: [`127.0.0.1:${port}`], grpc: { listen: "127.0.0.1:0" }, hostname: "edge.test", smtp_shutdown_grace_ms: 1000, spf_enable: false, ...edge },
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

  /** STARTTLS (answered 220 or the test fails), then the TLS handshake; returns the client over TLS. */
  async startTls(opts: ConnectionOptions = {}): Promise<{ client: SmtpTestClient; tls: TLSSocket }> {
    const r = await this.command("STARTTLS");
    if (!r.startsWith("220 ")) throw new Error(`STARTTLS refused: ${r}`);
    return this.handshake(opts);
  }

  /** The TLS handshake over this connection (after a 220 to STARTTLS). */
  async handshake(opts: ConnectionOptions = {}): Promise<{ client: SmtpTestClient; tls: TLSSocket }> {
    this.socket.removeAllListeners("data");
    const tls = tlsConnect({ socket: this.socket, rejectUnauthorized: false, ...opts });
    await new Promise<void>((resolve, reject) => tls.once("secureConnect", resolve).once("error", reject));
    return { client: new SmtpTestClient(tls), tls };
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

  /** Sends one command and waits for its reply (EHLO, HELO and other commands that end a pipelining group). */
  async command(line: string): Promise<string> {
    this.send(`${line}\r\n`);
    return (await this.read(1))[0] ?? "";
  }

  /** Reads the banner, then EHLO and its reply: what a correct pipelining client does first. */
  async greet(helo = "client.test"): Promise<string[]> {
    const banner = await this.read(1);
    return [...banner, await this.command(`EHLO ${helo}`)];
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends one pipelined transaction and returns every reply after the banner. */
export async function sendPipelined(port: number, opts: { from: string; to: string[]; body: string | Buffer; helo?: string }): Promise<string[]> {
  const c = await SmtpTestClient.open(port);
  try {
    const [, ehlo = ""] = await c.greet(opts.helo);
    // PIPELINING (RFC 2920): EHLO ends a group, so its reply comes first; MAIL, RCPT and DATA go together
    const rcpts = opts.to.map((t) => `RCPT TO:<${t}>\r\n`).join("");
    c.send(`MAIL FROM:<${opts.from}>\r\n${rcpts}DATA\r\n`);
    const head = [ehlo, ...(await c.read(2 + opts.to.length))];
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
    const config = natsConfigSchema.parse(natsSection(nats));
    const bus = await connectBus(config, { name: "edge-test", logger: pino({ level: "silent" }) });
    await ensureTopology(bus, config.jetstream); // the same topology the edge under test creates
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
