import { Counter, Gauge, type Registry } from "prom-client";

/** Every log message the edge writes (the `event` field) and its fields. */
export const logEvents = {
  received: "msg.received", // "<= sender H=helo [ip] P=esmtp S=size id=..." { message_id, sender, recipients, helo, ip, port, protocol, size, spooled }
  messageRejected: "msg.rejected", // { reason, sender, helo, ip, size } (size, bare CR/LF)
  messageDeferred: "msg.deferred", // { err, sender, helo, ip } (451 at end of DATA: spool or publish failed)
  rcptRejected: "rcpt.rejected", // { recipient, sender, ip, helo, reason }
  protocolError: "smtp.protocol_error", // { kind, line, ip }
  connectionError: "smtp.connection_error", // { err, ip }
  timeout: "smtp.timeout", // { phase: command|data, timeout_ms, ip, helo } (421 4.4.2 sent, connection closed)
  connectionRefused: "smtp.connection_refused", // { reason: max|per_host, limit, ip } (421 4.3.2: smtp_accept_max, smtp_accept_max_per_host)
  sessionError: "smtp.session_error", // { err, ip } (a bug: the connection is closed with 421)
  listening: "smtp.listening", // { address, port }
  eventFailed: "event.publish_failed", // { name, message_id, err }
  spoolCleanupFailed: "spool.cleanup_failed", // { message_id, err }
  configDeprecated: "config.deprecated", // { option }
  verdictDropped: "txn.verdict_dropped", // { kind, txn_id } (late or unknown)
  proxyAccepted: "proxy.accepted", // { proxy_ip, proxy_port, version, command, family, source, header_bytes } (debug)
  spfUnavailable: "spf.unavailable", // { err } (spf.check could not be published: verdict is temperror)
  spfRejected: "spf.rejected", // { result, domain, sender, ip, helo, at, recipient? }
  proxyFailed: "proxy.failed", // { proxy_ip, proxy_port, code, reason, received (escaped), action }
  authFailed: "auth.failed", // { ip, user, mechanism, result } (535 or 454; also the auth:fail event)
  authSucceeded: "auth.succeeded", // { ip, user, mechanism } (debug)
  prdrRecipient: "prdr.recipient", // { message_id?, recipient, verdict, sender, ip, prdr } (a recipient the data policy did not accept)
  tlsLoaded: "tls.loaded", // { name, certificate, reloaded } (name "" for the default pair)
  tlsReloadFailed: "tls.reload_failed", // { err, name, certificate } (the previous context stays)
  tlsStarted: "tls.started", // { ip, cipher, version, servername } (debug)
  tlsFailed: "tls.failed", // { ip, err } (handshake failed or no context: 454)
  tlsPlaintextDiscarded: "tls.plaintext_discarded", // { ip, bytes, discarded (escaped) } (CVE-2011-0411)
} as const;

export interface EdgeMetrics {
  /** postern_edge_connections_total */
  connections: Counter;
  /** postern_edge_connections_open */
  connectionsOpen: Gauge;
  /** postern_edge_messages_total{result="accepted|rejected|deferred"} */
  messages: Counter<"result">;
  /** postern_edge_received_bytes_total: body octets of accepted messages */
  bytes: Counter;
  /** postern_edge_recipients_total{result="accepted|denied|tempfail|limit"} */
  recipients: Counter<"result">;
  /** postern_edge_protocol_errors_total{kind} */
  protocolErrors: Counter<"kind">;
  /** postern_edge_verdicts_dropped_total{kind="spf|dmarc"} */
  verdictsDropped: Counter<"kind">;
  /** postern_edge_spf_verdicts_total{result} */
  spfVerdicts: Counter<"result">;
  /** postern_edge_proxy_headers_total{result="proxied|local|failed"} */
  proxyHeaders: Counter<"result">;
  /** postern_edge_connections_refused_total{reason="max|per_host"} */
  connectionsRefused: Counter<"reason">;
}

export function createEdgeMetrics(registry: Registry): EdgeMetrics {
  const registers = [registry];
  return {
    connections: new Counter({ name: "postern_edge_connections_total", help: "SMTP connections accepted", registers }),
    connectionsOpen: new Gauge({ name: "postern_edge_connections_open", help: "SMTP connections open now", registers }),
    messages: new Counter({
      name: "postern_edge_messages_total",
      help: "Messages at end of DATA by result",
      labelNames: ["result"] as const,
      registers,
    }),
    bytes: new Counter({ name: "postern_edge_received_bytes_total", help: "Octets of accepted messages", registers }),
    recipients: new Counter({
      name: "postern_edge_recipients_total",
      help: "RCPT decisions by result",
      labelNames: ["result"] as const,
      registers,
    }),
    protocolErrors: new Counter({
      name: "postern_edge_protocol_errors_total",
      help: "Commands refused by the protocol engine, by kind",
      labelNames: ["kind"] as const,
      registers,
    }),
    verdictsDropped: new Counter({
      name: "postern_edge_verdicts_dropped_total",
      help: "Verdicts that arrived late or for an unknown transaction",
      labelNames: ["kind"] as const,
      registers,
    }),
    spfVerdicts: new Counter({
      name: "postern_edge_spf_verdicts_total",
      help: "SPF verdicts the edge acted on, by result (a missing verdict counts as temperror)",
      labelNames: ["result"] as const,
      registers,
    }),
    proxyHeaders: new Counter({
      name: "postern_edge_proxy_headers_total",
      help: "PROXY negotiations with peers in hosts_proxy, by result (proxied, local: socket addresses kept, failed)",
      labelNames: ["result"] as const,
      registers,
    }),
    connectionsRefused: new Counter({
      name: "postern_edge_connections_refused_total",
      help: "Connections answered 421 4.3.2 for smtp_accept_max (max) or smtp_accept_max_per_host (per_host)",
      labelNames: ["reason"] as const,
      registers,
    }),
  };
}
