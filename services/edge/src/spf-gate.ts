/**
 * The edge's half of SPF: at MAIL FROM it publishes postern.v1.spf.check and
 * opens a transaction; the spf service answers through EdgeCallback.ReportSpf.
 * The verdict is awaited only where policy needs it (RCPT or end of DATA), so
 * a pipelined client never waits twice. No verdict in time is temperror.
 */
import { type Bus, codecs, subjects } from "@postern/bus";
import { type SpfCheckRequest, SpfResult, SpfVerdict } from "@postern/proto";
import { type Logger } from "pino";
import { logEvents } from "./diagnostics";
import { type CompiledList } from "@postern/hostlist";
import { type TxnRegistry } from "./txn";

export interface SpfGateDeps {
  bus: Bus;
  txns: TxnRegistry;
  /** our EdgeCallback address, as workers dial it */
  replyTo: string;
  timeoutMs: number;
  /** clients SPF does not apply to (relay_from_hosts: our own submitters); a deferred lookup does not exempt */
  exempt: CompiledList;
  logger: Logger;
}

export interface SpfClient {
  ip: string;
  helo: string;
  sender: string;
}

/** Starts a check; resolves null when SPF does not apply to this client. The promise never rejects. */
export type SpfGate = (client: SpfClient) => Promise<SpfVerdict | null>;

function temperror(txnId: string, client: SpfClient, why: string): SpfVerdict {
  return SpfVerdict.fromPartial({
    txnId,
    result: SpfResult.SPF_RESULT_TEMPERROR,
    receivedSpf: `temperror (${why}) client-ip=${client.ip};`,
    headerComment: why,
  });
}

export function createSpfGate(deps: SpfGateDeps): SpfGate {
  return async (client) => {
    if ((await deps.exempt.match(client.ip)).result === "match") return null;
    const { txnId, verdict } = deps.txns.open<SpfVerdict>("spf", deps.timeoutMs);
    const request: SpfCheckRequest = { replyTo: { grpcAddress: deps.replyTo, txnId }, ip: client.ip, helo: client.helo, sender: client.sender, checkHelo: false };
    try {
      deps.bus.nc.publish(subjects.spfCheck, codecs.spfCheck.encode(request));
    } catch (err) {
      deps.logger.warn({ event: logEvents.spfUnavailable, err }, "spf.check not published");
      deps.txns.resolve("spf", txnId, temperror(txnId, client, "SPF check not sent"));
    }
    return verdict.then((v) => v ?? temperror(txnId, client, "no SPF verdict in time"));
  };
}
