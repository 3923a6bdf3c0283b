import { connect, type Socket } from "node:net";
import { connect as connectTls, type ConnectionOptions } from "node:tls";

export interface SentMail {
  replies: string[];
  /** The final reply to DATA, e.g. "250 2.0.0 OK id=...". */
  final: string;
}

/** Reads complete SMTP replies (the last line of a multi-line reply carries "NNN "). */
class ReplyReader {
  private buffer = "";
  private waiting: Array<(reply: string) => void> = [];
  private ready: string[] = [];

  constructor(socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      let reply = "";
      while ((end = this.buffer.indexOf("\r\n")) >= 0) {
        const line = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        reply += reply ? `\n${line}` : line;
        if (/^\d{3} /.test(line) || /^\d{3}$/.test(line)) {
          const next = this.waiting.shift();
          if (next) next(reply);
          else this.ready.push(reply);
          reply = "";
        }
      }
    });
  }

  next(timeoutMs = 10_000): Promise<string> {
    const ready = this.ready.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no SMTP reply in time")), timeoutMs);
      this.waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }
}

/** A plain SMTP dialogue, one command at a time; rejects on any unexpected reply. */
export async function sendMail(opts: {
  host: string;
  port: number;
  from: string;
  to: string[];
  body: string;
  /** source address of the client socket, e.g. 127.0.0.2 */
  localAddress?: string;
  /** speak TLS from the first byte (a TLS-terminating proxy in front of the server) */
  tls?: ConnectionOptions;
}): Promise<SentMail> {
  const tcp = connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress });
  const socket: Socket = opts.tls ? connectTls({ ...opts.tls, socket: tcp }) : tcp;
  await new Promise<void>((resolve, reject) => {
    socket.once(opts.tls ? "secureConnect" : "connect", resolve);
    socket.once("error", reject);
  });
  const reader = new ReplyReader(socket);
  const replies: string[] = [];
  const expect = async (code: string): Promise<string> => {
    const reply = await reader.next();
    replies.push(reply);
    if (!reply.startsWith(code)) throw new Error(`expected ${code}, got ${JSON.stringify(reply)} (dialogue: ${JSON.stringify(replies)})`);
    return reply;
  };
  const send = (line: string): void => void socket.write(`${line}\r\n`);
  try {
    await expect("220");
    send("EHLO e2e.test");
    await expect("250");
    send(`MAIL FROM:<${opts.from}>`);
    await expect("250");
    for (const rcpt of opts.to) {
      send(`RCPT TO:<${rcpt}>`);
      await expect("250");
    }
    send("DATA");
    await expect("354");
    const body = opts.body.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
    socket.write(`${body}${body.endsWith("\r\n") ? "" : "\r\n"}.\r\n`);
    const final = await expect("250");
    send("QUIT");
    await expect("221");
    return { replies, final };
  } finally {
    socket.destroy();
  }
}
