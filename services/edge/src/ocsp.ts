/**
 * The edge's half of OCSP stapling (docs/adr/0005-ocsp-stapling.md): each served
 * certificate chain is announced on postern.v1.ocsp.watch (at start, on reload and
 * periodically); staples come back through EdgeCallback.PutStaple into the StapleStore,
 * which start-up fills from KV ocsp-staples; OcspStapler answers the TLS handshake's
 * status request with the current staple for the certificate being served.
 *
 * SECURITY: a staple is served only while its nextUpdate is in the future (StapleStore.get,
 * and the file's verified nextUpdate); "revoked" staples are served as they are (ADR 0005).
 * KV values are checked with zod. tls_ocsp_file is verified with @postern/ocsp against the
 * default chain (leaf + issuer from tls_certificate) before it is served; without an issuer
 * in that PEM file it is never served.
 */
import { createHash, X509Certificate } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { Server as TlsServer } from "node:tls";
import { type Bus, codecs, type KV, subjects } from "@postern/bus";
import { evaluateResponse, prepareCertificates } from "@postern/ocsp";
import { type OcspWatchRequest, type Staple } from "@postern/proto";
import { type Logger } from "pino";
import { z } from "zod";
import { type StapleStore } from "./callback";

export const ocspLogEvents = {
  announced: "ocsp.announced", // { cert_id, name }
  announceSkipped: "ocsp.announce_skipped", // { cert_id, name, reason }
  announceFailed: "ocsp.announce_failed", // { err }
  kvLoaded: "ocsp.kv_loaded", // { loaded, certs }
  kvFailed: "ocsp.kv_failed", // { cert_id?, err }
  fileInvalid: "ocsp.file_invalid", // { file, code, reason }
  fileLoaded: "ocsp.file_loaded", // { file, status, next_update }
} as const;

/** Re-announcement period (well inside the refresher's edge_ttl_seconds, default one day). */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 15 * 60 * 1000;

/** Lower-case hex SHA-256 of the leaf DER: the key of both KV buckets and of the StapleStore. */
export const certIdOf = (leafDer: Uint8Array): string => createHash("sha256").update(leafDer).digest("hex");

/** A served certificate: the leaf, the next certificate of the PEM chain (its issuer) when there is one. */
export interface ServedChain {
  certId: string;
  leaf: Buffer;
  issuer?: Buffer;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The chain of a PEM certificate file; undefined when it holds no certificate. */
export function chainFromPem(pem: string | Buffer): ServedChain | undefined {
  const blocks = String(pem).match(PEM_CERT) ?? [];
  const [leafPem, issuerPem] = blocks;
  if (leafPem === undefined) return undefined;
  const leaf = Buffer.from(new X509Certificate(leafPem).raw);
  const chain: ServedChain = { certId: certIdOf(leaf), leaf };
  if (issuerPem !== undefined) chain.issuer = Buffer.from(new X509Certificate(issuerPem).raw);
  return chain;
}

/** The announcement for a chain; undefined without an issuer (the refresher cannot ask for it). */
export function watchRequest(chain: ServedChain, grpcAddress: string): OcspWatchRequest | undefined {
  if (chain.issuer === undefined) return undefined;
  return { certId: chain.certId, leafDer: chain.leaf, issuerDer: chain.issuer, replyTo: { grpcAddress, txnId: "" } };
}

/** What the announcer publishes with: bus.nc.publish in production. */
export type Publish = (subject: string, data: Uint8Array) => void;

/**
 * Announces the served chains: announceAll at start and every intervalMs (timer unref'd,
 * stop() clears it), announce(chain) when a certificate is reloaded.
 */
export class OcspAnnouncer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly publish: Publish,
    private readonly chains: () => Array<{ name: string; chain: ServedChain }>,
    private readonly grpcAddress: string,
    private readonly logger: Logger,
  ) {}

  /** Publishes one chain's announcement; true when published. */
  announce(chain: ServedChain, name = ""): boolean {
    const req = watchRequest(chain, this.grpcAddress);
    if (req === undefined) {
      this.logger.warn({ event: ocspLogEvents.announceSkipped, cert_id: chain.certId, name, reason: "no issuer" }, "OCSP: certificate not announced: its PEM file has no issuer certificate after the leaf");
      return false;
    }
    try {
      this.publish(subjects.ocspWatch, codecs.ocspWatch.encode(req));
    } catch (err) {
      this.logger.warn({ event: ocspLogEvents.announceFailed, cert_id: chain.certId, name, err }, "OCSP: announcement not published");
      return false;
    }
    this.logger.debug({ event: ocspLogEvents.announced, cert_id: chain.certId, name }, "OCSP: certificate announced");
    return true;
  }

  /** Announces every chain once (the same leaf served under several names once); returns how many were published. */
  announceAll(): number {
    const seen = new Set<string>();
    let n = 0;
    for (const { name, chain } of this.chains()) {
      if (seen.has(chain.certId)) continue;
      seen.add(chain.certId);
      if (this.announce(chain, name)) n += 1;
    }
    return n;
  }

  start(intervalMs: number): void {
    this.announceAll();
    this.timer = setInterval(() => this.announceAll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
/** The parts of an ocsp-staples value the edge uses (ADR 0005; other fields are ignored). */
const stapleEnvelopeSchema = z.object({
  v: z.literal(1),
  status: z.enum(["good", "revoked"]),
  this_update: z.iso.datetime(),
  next_update: z.iso.datetime(),
  der: b64.min(1),
});

/** A KV ocsp-staples value as a Staple; undefined when invalid or expired at `now`. */
export function stapleFromEnvelope(certId: string, value: Uint8Array, now = new Date()): Staple | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(value).toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = stapleEnvelopeSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const e = parsed.data;
  const staple: Staple = { certId, ocspResponseDer: Buffer.from(e.der, "base64"), thisUpdate: new Date(e.this_update), nextUpdate: new Date(e.next_update) };
  if (staple.ocspResponseDer.length === 0 || (staple.nextUpdate as Date) <= now) return undefined;
  return staple;
}

/** Reads KV ocsp-staples for each certificate id and loads the valid ones; returns how many were loaded. Never throws. */
export async function loadStaplesFromKv(kv: Pick<KV, "get">, certIds: Iterable<string>, store: StapleStore, logger: Logger, now = new Date()): Promise<number> {
  const ids = [...new Set(certIds)];
  let loaded = 0;
  await Promise.all(
    ids.map(async (certId) => {
      try {
        const entry = await kv.get(certId);
        if (entry === null || entry.operation !== "PUT") return;
        const staple = stapleFromEnvelope(certId, entry.value, now);
        if (staple !== undefined && store.put(staple, now)) loaded += 1;
      } catch (err) {
        logger.warn({ event: ocspLogEvents.kvFailed, cert_id: certId, err }, "OCSP: staple not read from KV ocsp-staples");
      }
    }),
  );
  logger.info({ event: ocspLogEvents.kvLoaded, loaded, certs: ids.length }, `OCSP: ${loaded} staple(s) loaded from KV`);
  return loaded;
}

/**
 * Exim's tls_ocsp_file: a DER OCSPResponse for the default certificate, re-read when the
 * file changes (stat per connection) and served only when it verifies against the default
 * chain and its nextUpdate is in the future.
 */
export class OcspFile {
  private stamp = "";
  private staple: Staple | undefined;

  constructor(
    readonly path: string,
    private readonly defaultChain: () => ServedChain | undefined,
    private readonly logger: Logger,
  ) {}

  /** The file's response when valid now, for the default chain's cert id. */
  async current(now = new Date()): Promise<Staple | undefined> {
    const chain = this.defaultChain();
    if (chain === undefined) return undefined;
    let stamp: string;
    try {
      const s = await stat(this.path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}:${chain.certId}`;
    } catch {
      this.stamp = "";
      this.staple = undefined;
      return undefined;
    }
    if (stamp !== this.stamp) {
      this.stamp = stamp;
      this.staple = await this.load(chain, now);
    }
    const s = this.staple;
    if (s === undefined || s.certId !== chain.certId || (s.nextUpdate !== undefined && s.nextUpdate <= now)) return undefined;
    return s;
  }

  private async load(chain: ServedChain, now: Date): Promise<Staple | undefined> {
    const fail = (code: string, reason: string): undefined => {
      this.logger.warn({ event: ocspLogEvents.fileInvalid, file: this.path, cert_id: chain.certId, code, reason }, `tls_ocsp_file not served: ${reason}`);
      return undefined;
    };
    if (chain.issuer === undefined) return fail("POSTERN_OCSP_NO_ISSUER", "tls_certificate has no issuer certificate to verify it with");
    let der: Buffer;
    try {
      der = await readFile(this.path);
    } catch (err) {
      return fail("POSTERN_OCSP_FILE_READ", err instanceof Error ? err.message : String(err));
    }
    let verdict;
    try {
      verdict = evaluateResponse(der, prepareCertificates(chain.leaf, chain.issuer), { now });
    } catch (err) {
      return fail("POSTERN_OCSP_BAD_CERTIFICATE", err instanceof Error ? err.message : String(err));
    }
    if (verdict.kind === "invalid") return fail(verdict.code, verdict.reason);
    if (verdict.kind === "unknown") return fail("POSTERN_OCSP_UNKNOWN", "status unknown");
    const r = verdict.response;
    this.logger.info({ event: ocspLogEvents.fileLoaded, file: this.path, cert_id: chain.certId, status: r.status, next_update: r.nextUpdate.toISOString() }, "tls_ocsp_file loaded");
    return { certId: chain.certId, ocspResponseDer: der, thisUpdate: r.thisUpdate, nextUpdate: r.nextUpdate };
  }
}

/** The newer of two staples (by thisUpdate); either may be absent. */
function newer(a: Staple | undefined, b: Staple | undefined): Staple | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return (b.thisUpdate?.getTime() ?? 0) > (a.thisUpdate?.getTime() ?? 0) ? b : a;
}

/**
 * Answers the TLS status request. Node emits 'OCSPRequest' on the tls.Server given to
 * `new TLSSocket(socket, { isServer: true, server })` even when that server never listens;
 * the certificate it passes is the SNI context's, or for a client without SNI the server's
 * own context: setDefault keeps that one equal to tls_certificate.
 */
export class OcspStapler {
  /** never listens: only the 'OCSPRequest' event is used */
  readonly server = new TlsServer();

  constructor(
    private readonly store: StapleStore,
    private readonly file?: OcspFile,
  ) {
    this.server.on("OCSPRequest", (certificate: Buffer | null, _issuer: Buffer | null, cb: (err: Error | null, resp: Buffer | null) => void) => {
      this.responseFor(certificate).then(
        (der) => cb(null, der ?? null),
        () => cb(null, null),
      );
    });
  }

  /** The default certificate (used for clients that send no SNI). */
  setDefault(cert: Buffer, key: Buffer): void {
    this.server.setSecureContext({ cert, key });
  }

  /** The staple to send for the certificate being served, if any is valid now. */
  async responseFor(certificate: Uint8Array | null, now = new Date()): Promise<Buffer | undefined> {
    if (certificate === null || certificate.length === 0) return undefined;
    const certId = certIdOf(certificate);
    let best = this.store.get(certId, now);
    if (this.file !== undefined) {
      const f = await this.file.current(now);
      if (f?.certId === certId) best = newer(best, f);
    }
    return best === undefined ? undefined : Buffer.from(best.ocspResponseDer);
  }
}

/** bus.nc.publish, for OcspAnnouncer. */
export const busPublish =
  (bus: Bus): Publish =>
  (subject, data) =>
    bus.nc.publish(subject, data);
