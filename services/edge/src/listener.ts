/** SMTP listeners (node:net) and the set of open connections, with graceful close. */
import { createServer, type Server, type Socket } from "node:net";
import { hostList } from "@postern/hostlist";
import { parseHostPort } from "@postern/service-kit";
import { type ConnectionDeps, SmtpConnection } from "./connection";
import { logEvents } from "./diagnostics";
import { negotiateProxy } from "./proxy";
import { RefusingConnection } from "./refusing-connection";

/** What the listener needs of any connection it tracks. */
interface TrackedConnection {
  readonly closed: Promise<void>;
  shutdown(): void;
  forceClose?(): void;
  destroy(): void;
}

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
  const connections = new Set<TrackedConnection>();
  const proxyPeers = hostList(deps.config.hosts_proxy, { lookups: false });
  const track = (conn: TrackedConnection): void => {
    connections.add(conn);
    void conn.closed.then(() => {
      connections.delete(conn);
      metrics.connectionsOpen.dec();
    });
  };

  /** Peers in hosts_proxy: the header first, then SMTP as the client it names (or Exim's 503 refusal). */
  const viaProxy = async (socket: Socket): Promise<void> => {
    const cfg = deps.config;
    const outcome = await negotiateProxy(socket, { timeoutMs: cfg.proxy_timeout * 1000, maxHeaderBytes: cfg.proxy_max_header_bytes });
    const peer = { proxy_ip: socket.remoteAddress, proxy_port: socket.remotePort };
    if (socket.destroyed || !accepting) {
      socket.destroy();
      metrics.connectionsOpen.dec();
      return;
    }
    if (outcome.ok) {
      const h = outcome.header;
      metrics.proxyHeaders.inc({ result: h.useSocketAddresses ? "local" : "proxied" });
      logger.debug(
        { event: logEvents.proxyAccepted, ...peer, version: h.version, command: h.command, family: h.family, source: h.source, header_bytes: outcome.headerBytes },
        "PROXY header accepted",
      );
      track(new SmtpConnection(socket, deps, { header: h, rest: outcome.rest }));
      return;
    }
    metrics.proxyHeaders.inc({ result: "failed" });
    logger.warn(
      { event: logEvents.proxyFailed, ...peer, code: outcome.code, reason: outcome.reason, received: outcome.received, action: cfg.proxy_failure_action },
      `PROXY negotiation failed from [${socket.remoteAddress ?? ""}]: ${outcome.reason}`,
    );
    if (cfg.proxy_failure_action === "drop") {
      socket.destroy();
      metrics.connectionsOpen.dec();
      return;
    }
    track(new RefusingConnection(socket, cfg));
  };
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
    if (proxyPeers.matchSync(socket.remoteAddress ?? "").result === "match") {
      socket.on("error", () => undefined);
      void viaProxy(socket);
      return;
    }
    track(new SmtpConnection(socket, deps));
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
      for (const c of connections) c.forceClose?.();
      await Promise.race([allClosed(), sleep(FORCE_CLOSE_MS)]);
      for (const c of connections) c.destroy();
      await stopped;
    },
  };
}
