/**
 * EdgeCallback: how workers answer the edge. ReportSpf / ReportDmarc (and
 * their batched and streamed forms) resolve a pending transaction by txn_id; PutStaple keeps the newest OCSP staple per
 * certificate in memory for STARTTLS.
 *
 * The streamed forms (StreamSpfVerdicts / StreamDmarcVerdicts) stay open for as long as the worker
 * runs; each message is handled exactly like one batched call (docs/adr/0006). Authentication is the
 * server's interceptors (token) and TLS (mTLS), which apply to every call whatever its kind: a refused
 * stream never reaches these handlers.
 *
 * SECURITY: callers are other Postern services; still, a verdict only counts
 * when its txn_id (128 random bits) is pending, and the staple store is capped.
 */
import * as grpc from "@grpc/grpc-js";
import { type Ack, type DmarcVerdicts, type EdgeCallbackServer, type SpfVerdicts, type Staple } from "@postern/proto";
import { VerdictStreams } from "@postern/service-kit";
import { type TxnRegistry } from "./txn";

export const MAX_STAPLES = 1024;

/** The newest staple per certificate id; never replaced by an older or already expired one. */
export class StapleStore {
  private readonly staples = new Map<string, Staple>();

  put(staple: Staple, now = new Date()): boolean {
    const next = staple.nextUpdate;
    if (next !== undefined && next <= now) return false;
    const current = this.staples.get(staple.certId);
    if (current?.thisUpdate !== undefined && staple.thisUpdate !== undefined && staple.thisUpdate < current.thisUpdate) return false;
    if (current === undefined && this.staples.size >= MAX_STAPLES) return false;
    this.staples.set(staple.certId, staple);
    return true;
  }

  /** The staple for a certificate when it is still valid. */
  get(certId: string, now = new Date()): Staple | undefined {
    const s = this.staples.get(certId);
    if (s === undefined || (s.nextUpdate !== undefined && s.nextUpdate <= now)) return undefined;
    return s;
  }
}

const ack: Ack = {};

export function edgeCallbackServer(txns: TxnRegistry, staples: StapleStore, streams = new VerdictStreams()): EdgeCallbackServer {
  const spfBatch = (m: SpfVerdicts): void => {
    for (const verdict of m.verdicts) txns.resolve("spf", verdict.txnId, verdict);
  };
  const dmarcBatch = (m: DmarcVerdicts): void => {
    for (const verdict of m.verdicts) txns.resolve("dmarc", verdict.txnId, verdict);
  };
  return {
    reportSpf(call, callback) {
      txns.resolve("spf", call.request.txnId, call.request);
      callback(null, ack);
    },
    reportDmarc(call, callback) {
      txns.resolve("dmarc", call.request.txnId, call.request);
      callback(null, ack);
    },
    reportSpfBatch(call, callback) {
      spfBatch(call.request);
      callback(null, ack);
    },
    reportDmarcBatch(call, callback) {
      dmarcBatch(call.request);
      callback(null, ack);
    },
    streamSpfVerdicts(call, callback) {
      streams.serve(call, callback, spfBatch, ack);
    },
    streamDmarcVerdicts(call, callback) {
      streams.serve(call, callback, dmarcBatch, ack);
    },
    putStaple(call, callback) {
      const s = call.request;
      if (!/^[0-9a-f]{64}$/i.test(s.certId) || s.ocspResponseDer.length === 0) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "cert_id must be a hex SHA-256 and the response non-empty" }, null);
        return;
      }
      staples.put(s);
      callback(null, ack);
    },
  };
}
