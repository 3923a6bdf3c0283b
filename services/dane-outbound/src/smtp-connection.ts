import net from "node:net";
import os from "node:os";
import tls from "node:tls";
import { ReplyParser, type SmtpReply } from "@postern/smtp";
import { SmtpSessionError } from "./errors";
import { Errno } from "./types";

const ETIMEDOUT = os.constants.errno.ETIMEDOUT;

/** A TCP connection to an SMTP/LMTP server that hands out complete replies; all I/O of the client is here. */
export class SmtpConnection {
  private readonly parser = new ReplyParser();
  private readonly replies: SmtpReply[] = [];
  private waiter: { resolve: (r: SmtpReply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  private socket: net.Socket;
  private readonly onChunk = (chunk: Buffer): void => this.onData(chunk);

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", this.onChunk);
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.fail(new SmtpSessionError(errnoOf(err), `connection error: ${err.message}`, { cause: err }));
    });
    socket.on("close", () => this.fail(new SmtpSessionError(Errno.SmtpClosed, "remote host closed the connection")));
  }

  /** Connects within `timeoutMs`; SmtpSessionError with errno (ECONNREFUSED, ETIMEDOUT ...) otherwise. */
  static open(host: string, port: number, timeoutMs: number): Promise<SmtpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SmtpSessionError(Errno.ConnectTimeout, `connection to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new SmtpSessionError(errnoOf(err), err.code === "ECONNREFUSED" ? "Connection refused" : err.message, { cause: err }));
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.setNoDelay(true);
        resolve(new SmtpConnection(socket));
      });
    });
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }

  /** False once the connection failed or closed (a pooled session that the server dropped). */
  get alive(): boolean {
    return this.failure === undefined && !this.socket.destroyed;
  }

  /** The TLS socket after startTls (certificate, protocol, cipher for logs and DANE checks). */
  get tlsSocket(): tls.TLSSocket | undefined {
    return this.socket instanceof tls.TLSSocket ? this.socket : undefined;
  }

  /**
   * Upgrades the connection after the server's 220 to STARTTLS (RFC 3207). Replies buffered
   * before the handshake are discarded (a server must not pipeline past 220: RFC 3207 5).
   */
  startTls(options: tls.ConnectionOptions, timeoutMs: number, onSocket?: (socket: tls.TLSSocket) => void): Promise<tls.TLSSocket> {
    const plain = this.socket;
    plain.off("data", this.onChunk);
    this.replies.length = 0;
    return new Promise((resolve, reject) => {
      const secure = tls.connect({ ...options, socket: plain });
      // Before the handshake ends: the DANE/OCSP policy listens for the stapled response here.
      onSocket?.(secure);
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new SmtpSessionError(ETIMEDOUT, "TLS handshake timed out"));
      }, timeoutMs);
      secure.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new SmtpSessionError(errnoOf(err), `TLS session: ${err.message}`, { cause: err }));
      });
      secure.once("secureConnect", () => {
        clearTimeout(timer);
        secure.removeAllListeners("error");
        this.socket = secure;
        secure.on("data", this.onChunk);
        secure.on("error", (err: NodeJS.ErrnoException) => this.fail(new SmtpSessionError(errnoOf(err), `connection error: ${err.message}`, { cause: err })));
        resolve(secure);
      });
    });
  }

  /** Writes and waits until the data is handed to the kernel (back-pressure). */
  write(data: string | Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.socket.write(data, (err) => (err ? reject(this.failure ?? new SmtpSessionError(Errno.SmtpClosed, err.message, { cause: err })) : resolve()));
    });
  }

  /** The next reply, within `timeoutMs` (SmtpSessionError ETIMEDOUT "SMTP timeout after <after>"). */
  readReply(timeoutMs: number, after: string): Promise<SmtpReply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new SmtpSessionError(ETIMEDOUT, `SMTP timeout after ${after}`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e instanceof SmtpSessionError && e.errno === Errno.SmtpClosed ? new SmtpSessionError(e.errno, `${e.message} after ${after}`) : e);
        },
      };
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let got: SmtpReply[];
    try {
      got = this.parser.push(chunk);
    } catch (err) {
      this.fail(new SmtpSessionError(Errno.SmtpFormat, `malformed SMTP reply: ${(err as Error).message}`, { cause: err }));
      this.socket.destroy();
      return;
    }
    for (const r of got) {
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w.resolve(r);
      else this.replies.push(r);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }
}

function errnoOf(err: NodeJS.ErrnoException): number {
  return typeof err.errno === "number" ? Math.abs(err.errno) : Errno.SmtpClosed;
}
