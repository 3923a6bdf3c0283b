/**
 * postern.v1.ocsp.watch: an edge announces a certificate chain it serves. The announcement is
 * checked (cert_id is the leaf's SHA-256, the issuer signed the leaf, a responder is known),
 * merged into KV ocsp-certs, and a staple already held is pushed to that edge at once.
 *
 * SECURITY: the payload is untrusted: it is decoded with the bus codec, the certificates go
 * through @postern/ocsp's checks and size caps, and reply_to must be a host:port. The
 * refresher dials that address (PutStaple), so publishing on the subject must be limited to
 * the edges by NATS permissions; at most 64 edges are kept per certificate.
 */
import { createHash } from "node:crypto";
import { codecs, DecodeError, type KV } from "@postern/bus";
import { OcspCertificateError, prepareCertificates } from "@postern/ocsp";
import { parseHostPort } from "@postern/service-kit";
import type { Logger } from "pino";
import { logEvents } from "./diagnostics";
import { FetchErrorCode } from "./errors";
import { type EdgePusher, stapleMessage } from "./outputs";
import { CERT_ID, type CertRecord, withEdge } from "./records";
import { readStaple, updateCert } from "./store";

export interface WatchDeps {
  certs: KV;
  staples: KV;
  clock: () => number;
  edgeTtlMs: number;
  overrideUrl: string | undefined;
  pusher: EdgePusher;
  logger: Logger;
  /** a certificate became due (new): scan now rather than at the next tick */
  poke: () => void;
}

export class WatchRejected extends Error {
  override readonly name = "WatchRejected";
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function check(data: Uint8Array, overrideUrl: string | undefined): { certId: string; edge: string; leaf: Buffer; issuer: Buffer } {
  let req;
  try {
    req = codecs.ocspWatch.decode(data);
  } catch (err) {
    if (err instanceof DecodeError) throw new WatchRejected(err.code, err.message, { cause: err });
    throw err;
  }
  const edge = req.replyTo?.grpcAddress ?? "";
  if (parseHostPort(edge) === undefined) throw new WatchRejected("POSTERN_OCSP_WATCH_REPLY_TO", "reply_to.grpc_address must be host:port");
  if (!CERT_ID.test(req.certId) || createHash("sha256").update(req.leafDer).digest("hex") !== req.certId) {
    throw new WatchRejected("POSTERN_OCSP_WATCH_CERT_ID", "cert_id must be the lower-case hex SHA-256 of leaf_der");
  }
  try {
    const pair = prepareCertificates(req.leafDer, req.issuerDer);
    if (overrideUrl === undefined && pair.leaf.ocspUrls.length === 0) {
      throw new WatchRejected(FetchErrorCode.NoResponder, "the leaf names no OCSP responder (AIA) and responder_override_url is not set");
    }
  } catch (err) {
    if (err instanceof OcspCertificateError) throw new WatchRejected(err.code, err.message, { cause: err });
    throw err;
  }
  return { certId: req.certId, edge, leaf: Buffer.from(req.leafDer), issuer: Buffer.from(req.issuerDer) };
}

/** Handles one announcement; never throws (failures are logged). */
export async function handleWatch(deps: WatchDeps, data: Uint8Array): Promise<void> {
  let w: ReturnType<typeof check>;
  try {
    w = check(data, deps.overrideUrl);
  } catch (err) {
    const code = err instanceof WatchRejected ? err.code : "POSTERN_OCSP_INTERNAL";
    deps.logger.warn({ event: logEvents.watchRejected, code, err }, "ocsp.watch request rejected");
    return;
  }
  try {
    let created = false;
    await updateCert(deps.certs, w.certId, (current): CertRecord => {
      const now = deps.clock();
      created = current === undefined;
      if (current !== undefined) return { ...current, edges: withEdge(current.edges, w.edge, now, deps.edgeTtlMs) };
      return {
        v: 1,
        leaf: w.leaf.toString("base64"),
        issuer: w.issuer.toString("base64"),
        edges: { [w.edge]: now },
        next_refresh_at: now,
        failures: 0,
      };
    });
    deps.logger.info({ event: logEvents.watchAccepted, cert_id: w.certId, edge: w.edge, new: created }, "certificate watched");
    if (created) deps.poke();
    const { held } = await readStaple(deps.staples, w.certId);
    if (held !== undefined && Date.parse(held.envelope.next_update) > deps.clock()) {
      await deps.pusher.push([w.edge], stapleMessage(w.certId, held.envelope));
    }
  } catch (err) {
    deps.logger.warn({ event: logEvents.watchRejected, cert_id: w.certId, edge: w.edge, code: "POSTERN_OCSP_KV", err }, "ocsp.watch not recorded");
  }
}
