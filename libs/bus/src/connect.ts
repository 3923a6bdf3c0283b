import { connect, type NatsConnection, type NodeConnectionOptions, type Status } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { coalesceWrites } from "./coalesce";
import { type NatsConfig } from "./config";
import { logEvents, type BusLogger } from "./diagnostics";
import { ConnectError } from "./errors";

/** A NATS connection with its JetStream client and manager. */
export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** False while reconnecting, while draining and once closed (use it for /readyz). */
  isConnected(): boolean;
  /** Lets pending messages and subscriptions finish, then closes. Safe to call more than once. */
  drain(): Promise<void>;
}

/** The URL with any user:password@ replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, "$1***@");
}

/** Maps the `nats` configuration section onto nats.js connection options. */
export function connectionOptions(config: NatsConfig, name: string): NodeConnectionOptions {
  const tlsUrls = config.servers.some((s) => s.toLowerCase().startsWith("tls://"));
  const tls = config.tls;
  return {
    servers: config.servers,
    name,
    reconnect: true,
    maxReconnectAttempts: config.max_reconnect_attempts,
    reconnectTimeWait: config.reconnect_wait_ms,
    user: config.user,
    pass: config.pass,
    token: config.token,
    // nats.js ignores the URL scheme, so tls:// has to be spelled out as an option.
    tls: tls !== undefined || tlsUrls ? { caFile: tls?.ca_file, certFile: tls?.cert_file, keyFile: tls?.key_file } : undefined,
    // Without this, every request (each JetStream publish: the edge's PubAck before 250) builds two Error objects with
    // stack traces up front, in case it times out: a measurable share of the edge's CPU under load (pnpm bench:edge).
    // A timeout still rejects with a TimeoutError, only its stack ends in the timer.
    noAsyncTraces: true,
  };
}

/** Connects, checks that JetStream is enabled, and logs connection state changes to `opts.logger`. Throws ConnectError. */
export async function connectBus(config: NatsConfig, opts: { name: string; logger: BusLogger }): Promise<Bus> {
  const { logger, name } = opts;
  const servers = config.servers.map(redactUrl);
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(config, name));
  } catch (err) {
    throw new ConnectError(`cannot connect to NATS at ${servers.join(", ")}: ${errorMessage(err)}`, servers, { cause: err });
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new ConnectError(`JetStream is not available at ${nc.getServer()}: ${errorMessage(err)}`, servers, { cause: err });
  }
  const js = jetstream(nc);
  if (!coalesceWrites(nc)) logger.warn({ event: logEvents.coalesceUnavailable }, "NATS output not coalesced per loop turn (nats.js internals changed)");
  logger.info({ event: logEvents.connected, server: nc.getServer(), name }, "connected to NATS");

  let connected = true;
  void watchStatus(nc, logger, (up) => {
    connected = up;
  });
  void nc.closed().then((err) => {
    connected = false;
    if (err) logger.error({ event: logEvents.closed, err }, "NATS connection closed with an error");
    else logger.info({ event: logEvents.closed }, "NATS connection closed");
  });

  let draining: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    if (nc.isClosed()) return;
    try {
      await nc.drain();
    } catch (err) {
      // Closed under our feet (by the server, or by nc.close() elsewhere): nothing left to drain.
      if (nc.isClosed()) return;
      // Drain is refused while disconnected; close anyway, or the client keeps reconnecting
      // forever and the process never exits.
      logger.warn({ err, event: logEvents.closed }, "NATS drain failed, closing the connection");
      await nc.close();
    }
  };

  return {
    nc,
    js,
    jsm,
    isConnected: () => connected && !nc.isClosed() && !nc.isDraining(),
    drain: () => (draining ??= drain()),
  };
}

async function watchStatus(nc: NatsConnection, logger: BusLogger, setConnected: (up: boolean) => void): Promise<void> {
  try {
    for await (const s of nc.status()) logStatus(s, logger, setConnected);
  } catch (err) {
    logger.error({ event: logEvents.error, err }, "NATS status watcher failed");
  }
}

function logStatus(s: Status, logger: BusLogger, setConnected: (up: boolean) => void): void {
  switch (s.type) {
    case "disconnect":
      setConnected(false);
      logger.warn({ event: logEvents.disconnect, server: s.server }, "NATS connection lost; reconnecting");
      return;
    case "reconnect":
      setConnected(true);
      logger.info({ event: logEvents.reconnect, server: s.server }, "NATS connection re-established");
      return;
    case "error":
      logger.error({ event: logEvents.error, err: s.error }, "NATS error");
      return;
    case "ldm":
      logger.warn({ event: logEvents.lameDuck, server: s.server }, "NATS server entered lame duck mode");
      return;
    case "staleConnection":
      logger.warn({ event: logEvents.stale }, "NATS connection is stale; reconnecting");
      return;
    case "slowConsumer":
      logger.warn({ event: logEvents.slowConsumer, subject: s.sub.getSubject(), pending: s.pending }, "NATS subscription is a slow consumer");
      return;
    case "update":
      logger.info({ event: logEvents.clusterUpdate, added: s.added ?? [], deleted: s.deleted ?? [] }, "NATS cluster servers changed");
      return;
    default:
      // reconnecting, ping, forceReconnect, close: covered by the events above or by closed().
      return;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
