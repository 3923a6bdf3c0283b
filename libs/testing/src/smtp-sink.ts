import { createServer, type Socket } from "node:net";
import { checkReply, type SinkMessage, SmtpSession } from "./smtp-session";

export interface SmtpSinkOptions {
  /** Speak LMTP: LHLO instead of EHLO/HELO, one reply per accepted recipient after DATA. */
  lmtp?: boolean;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; default 0 (any free port). */
  port?: number;
  /** Name in the banner and the EHLO reply; default "sink.test". */
  hostname?: string;
  /** RCPT replies by address (case-insensitive), e.g. { "defer@x": "451 4.3.0 try later", "no@x": "550 5.1.1 no such user" }. */
  rcptReplies?: Record<string, string>;
  /** SMTP: the reply after DATA (default "250 2.0.0 OK queued as sink-N"). LMTP: the default reply for each recipient. */
  dataReply?: string;
  /** LMTP: the reply after DATA by recipient (case-insensitive), e.g. { "full@x": "452 4.2.2 mailbox full" }. */
  dataReplies?: Record<string, string>;
  /** Larger messages get 552 and are not recorded; default 50 MiB. Advertised as SIZE. */
  maxMessageBytes?: number;
}

export interface SmtpSink {
  host: string;
  port: number;
  /** Every accepted message, in the order the final reply was sent. */
  messages: SinkMessage[];
  /** Resolves with the messages once at least `n` have arrived; rejects after timeoutMs (default 5000). */
  waitForMessages(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  /** Closes the listener and every open session. Safe to call more than once. */
  stop(): Promise<void>;
}

function replyMap(replies: Record<string, string> | undefined, what: string): Map<string, string> {
  return new Map(Object.entries(replies ?? {}).map(([address, reply]) => [address.toLowerCase(), checkReply(reply, `${what}[${address}]`)]));
}

/** A loopback SMTP (or LMTP) server that accepts mail and records it, for testing clients. */
export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const sessionOptions = {
    lmtp: opts.lmtp ?? false,
    hostname: opts.hostname ?? "sink.test",
    rcptReplies: replyMap(opts.rcptReplies, "rcptReplies"),
    dataReply: opts.dataReply === undefined ? undefined : checkReply(opts.dataReply, "dataReply"),
    dataReplies: replyMap(opts.dataReplies, "dataReplies"),
    maxMessageBytes: opts.maxMessageBytes ?? 50 * 1024 * 1024,
  };
  const messages: SinkMessage[] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const session = new SmtpSession(
      sessionOptions,
      (text) => {
        if (!socket.destroyed) socket.write(text);
      },
      (message) => {
        messages.push(message);
        for (const wake of [...waiters]) wake();
      },
      () => socket.end(),
    );
    socket.on("data", (chunk: Buffer) => session.feed(chunk));
    session.greeting();
  });

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;

  const waitForMessages = (n: number, timeoutMs = 5000): Promise<SinkMessage[]> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (messages.length < n) return false;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(messages.slice());
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`smtp sink on ${host}:${port}: ${messages.length} of ${n} messages after ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }));

  return { host, port, messages, waitForMessages, stop };
}
