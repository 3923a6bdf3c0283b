/**
 * A connection that may not do SMTP but is still answered: after a failed
 * PROXY negotiation the client gets the banner, then 503 to everything but
 * QUIT (Exim's behaviour), until it quits, errs too often or times out.
 */
import { type Socket } from "node:net";
import { formatServerReply, RefusingSession, replies } from "@postern/smtp";
import { type EdgeSection } from "./config";

const LINGER_MS = 5_000;

export class RefusingConnection {
  readonly closed: Promise<void>;
  private readonly session: RefusingSession;

  constructor(
    private readonly socket: Socket,
    private readonly config: EdgeSection,
  ) {
    this.session = new RefusingSession({ hostname: config.hostname, refusal: replies.proxyRefused, maxCommands: config.smtp_max_errors });
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      const { output, close } = this.session.feed(chunk);
      if (output && socket.writable) socket.write(output);
      if (close) this.end();
    });
    socket.on("end", () => this.end());
    socket.on("timeout", () => this.end());
    socket.setTimeout(config.smtp_timeout_ms);
    socket.write(this.session.greet());
    socket.resume();
  }

  shutdown(): void {
    if (this.socket.writable) this.socket.write(formatServerReply(replies.shuttingDown(this.config.hostname)));
    this.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private end(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }
}
