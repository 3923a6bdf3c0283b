/**
 * What this package logs. Each record carries `event` (one of logEvents) so it
 * can be found and alerted on without matching message text.
 */

/** The logger connectBus writes to; pino's Logger fits it. */
export interface BusLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const logEvents = {
  /** info: connected; fields server, name */
  connected: "nats.connected",
  /** warn: connection lost, the client reconnects; field server */
  disconnect: "nats.disconnect",
  /** info: connection re-established; field server */
  reconnect: "nats.reconnect",
  /** error: asynchronous error reported by the server (permissions, auth); field err */
  error: "nats.error",
  /** warn: the server entered lame duck mode and will go away; field server */
  lameDuck: "nats.lame_duck",
  /** warn: the server stopped answering pings; the client reconnects */
  stale: "nats.stale_connection",
  /** warn: a subscription cannot keep up; fields subject, pending */
  slowConsumer: "nats.slow_consumer",
  /** info: the cluster's server list changed; fields added, deleted */
  clusterUpdate: "nats.cluster_update",
  /** info (error when err is set): the connection is closed for good */
  closed: "nats.closed",
  /** warn: nats.js internals are not as coalesce.ts expects; output is written per callback (slower, still correct) */
  coalesceUnavailable: "nats.coalesce_unavailable",
} as const;
