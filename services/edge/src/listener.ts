/** SMTP listeners (node:net) and the set of open connections, with graceful close. */
import { createServer, type Server, type Socket } from "node:net";
import { parseHostPort } from "@postern/service-kit";
import { type ConnectionDeps, SmtpConnection } from "./connection";
import { logEvents } from "./diagnostics";

export interface SmtpListeners {
  /** bound addresses, in smtp_listen order */
  readonly addresses: ReadonlyArray<{ host: string; port: number }>;
  listening(): boolean;
  readonly connectionCount: number;
  /**
   * Stops accepting, sends 421 to idle sessions, lets the others finish their
   * transaction for up to graceMs, then sends 421 to what is left and closes.
   */
  close(graceMs: number): Promise<void>;
}

/** after the final 421, how long sockets may take to close before they are destroyed */
const FORCE_CLOSE_MS = 1_000;

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      const a = server.address();
      resolve(typeof a === "object" && a !== null ? a.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export async function startSmtpListeners(listen_: readonly string[], deps: ConnectionDeps): Promise<SmtpListeners> {
  const { logger, metrics } = deps;
  const connections = new Set<SmtpConnection>();
  const servers: Server[] = [];
  const addresses: Array<{ host: string; port: number }> = [];
  let accepting = true;

  const onConnection = (socket: Socket): void => {
    if (!accepting) {
      socket.destroy();
      return;
    }
    metrics.connections.inc();
    metrics.connectionsOpen.inc();
    const conn = new SmtpConnection(socket, deps);
    connections.add(conn);
    void conn.closed.then(() => {
      connections.delete(conn);
      metrics.connectionsOpen.dec();
    });
  };

  try {
    for (const entry of listen_) {
      const hp = parseHostPort(entry);
      if (hp === undefined) throw new Error(`smtp_listen: not host:port: ${entry}`);
      const server = createServer({ allowHalfOpen: true }, onConnection);
      server.on("error", (err) => logger.error({ event: logEvents.connectionError, err }, "smtp listener error"));
      servers.push(server);
      const port = await listen(server, hp.host, hp.port);
      addresses.push({ host: hp.host, port });
      logger.info({ event: logEvents.listening, address: hp.host, port }, `SMTP listening on ${hp.host}:${port}`);
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }

  const allClosed = (): Promise<void> => Promise.all([...connections].map((c) => c.closed)).then(() => undefined);

  return {
    addresses,
    listening: () => accepting && servers.every((s) => s.listening),
    get connectionCount() {
      return connections.size;
    },
    async close(graceMs) {
      accepting = false;
      const stopped = Promise.all(servers.map(closeServer));
      for (const c of connections) c.shutdown();
      await Promise.race([allClosed(), sleep(graceMs)]);
      for (const c of connections) c.forceClose();
      await Promise.race([allClosed(), sleep(FORCE_CLOSE_MS)]);
      for (const c of connections) c.destroy();
      await stopped;
    },
  };
}
