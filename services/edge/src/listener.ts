/** SMTP listeners (node:net) and the set of open connections, with graceful close. */
import { createServer, type Server, type Socket } from "node:net";
import { hostList } from "@postern/hostlist";
import { parseHostPort } from "@postern/service-kit";
import { formatServerReply, type Reply } from "@postern/smtp";
import { type ConnectionDeps, normalizeIp, type Proxied, proxiedClient, SmtpConnection } from "./connection";
import { logEvents } from "./diagnostics";
import { ConnectionLimiter, tooManyConnections, tooManyFromHost } from "./limits";
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
/** after a 421 for a connection limit, how long the peer has to close before the socket is destroyed */
const REFUSED_LINGER_MS = 2_000;

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

/**
 * limiter: smtp_accept_max and smtp_accept_max_per_host shared by several
 * calls (the SMTP and submission listeners count together, as in Exim);
 * absent, one is made from the configuration for these listeners alone.
 */
export async function startSmtpListeners(listen_: readonly string[], deps: ConnectionDeps, limiter?: ConnectionLimiter): Promise<SmtpListeners> {
  const { logger, metrics } = deps;
  const limits = limiter ?? new ConnectionLimiter({ max: deps.config.smtp_accept_max, maxPerHost: deps.config.smtp_accept_max_per_host });
  const connections = new Set<TrackedConnection>();
  const proxyPeers = hostList(deps.config.hosts_proxy, { lookups: false });
  /** ip: the client holds a per-host slot */
  const track = (conn: TrackedConnection, ip?: string): void => {
    connections.add(conn);
    void conn.closed.then(() => {
      connections.delete(conn);
      metrics.connectionsOpen.dec();
      limits.release();
      if (ip !== undefined) limits.releaseHost(ip);
    });
  };
  /** A socket that gets no session: its slot goes back now. */
  const drop = (socket: Socket): void => {
    socket.destroy();
    metrics.connectionsOpen.dec();
    limits.release();
  };
  /** 421 4.3.2 for a connection limit, then close (Exim: "Connection from [ip] refused: too many connections"). */
  const refuse = (socket: Socket, ip: string, reason: "max" | "per_host", r: Reply): void => {
    const limit = reason === "max" ? deps.config.smtp_accept_max : deps.config.smtp_accept_max_per_host;
    metrics.connectionsRefused.inc({ reason });
    logger.info(
      { event: logEvents.connectionRefused, reason, limit, ip },
      `Connection from [${ip}] refused: too many connections${reason === "per_host" ? " from that IP address" : ""}`,
    );
    socket.on("error", () => undefined);
    socket.end(formatServerReply(r));
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  };
  /** An SMTP session for a client that holds a total slot, if its address has a per-host slot left. */
  const admit = (socket: Socket, proxied?: Proxied): void => {
    const peer = proxiedClient(socket, proxied);
    const ip = peer.ip;
    if (!limits.acquireHost(ip)) {
      metrics.connectionsOpen.dec();
      limits.release();
      return refuse(socket, ip, "per_host", tooManyFromHost);
    }
    track(new SmtpConnection(socket, deps, proxied, peer), ip);
  };

  /** Peers in hosts_proxy: the header first, then SMTP as the client it names (or Exim's 503 refusal). */
  const viaProxy = async (socket: Socket): Promise<void> => {
    const cfg = deps.config;
    const outcome = await negotiateProxy(socket, { timeoutMs: cfg.proxy_timeout * 1000, maxHeaderBytes: cfg.proxy_max_header_bytes });
    const peer = { proxy_ip: socket.remoteAddress, proxy_port: socket.remotePort };
    if (socket.destroyed || !accepting) return drop(socket);
    if (outcome.ok) {
      const h = outcome.header;
      metrics.proxyHeaders.inc({ result: h.useSocketAddresses ? "local" : "proxied" });
      logger.debug(
        { event: logEvents.proxyAccepted, ...peer, version: h.version, command: h.command, family: h.family, source: h.source, header_bytes: outcome.headerBytes },
        "PROXY header accepted",
      );
      return admit(socket, { header: h, rest: outcome.rest });
    }
    metrics.proxyHeaders.inc({ result: "failed" });
    logger.warn(
      { event: logEvents.proxyFailed, ...peer, code: outcome.code, reason: outcome.reason, received: outcome.received, action: cfg.proxy_failure_action },
      `PROXY negotiation failed from [${socket.remoteAddress ?? ""}]: ${outcome.reason}`,
    );
    if (cfg.proxy_failure_action === "drop") return drop(socket);
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
    if (!limits.acquire()) return refuse(socket, normalizeIp(socket.remoteAddress ?? ""), "max", tooManyConnections);
    metrics.connectionsOpen.inc();
    if (proxyPeers.matchSync(socket.remoteAddress ?? "").result === "match") {
      socket.on("error", () => undefined);
      void viaProxy(socket);
      return;
    }
    admit(socket);
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
