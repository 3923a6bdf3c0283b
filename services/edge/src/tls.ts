/**
 * Certificates for STARTTLS: a default pair (tls_certificate, tls_privatekey)
 * and pairs by SNI server name (tls_sni). Each pair's SecureContext is cached
 * and rebuilt when either file changes (size, mtime or inode): the files are
 * stat'ed at every STARTTLS and SNI lookup, so a renewed certificate is used
 * by the next connection without a restart.
 *
 * SECURITY: TLS 1.2 is the minimum. A reload that fails (half-written file,
 * key not matching) keeps serving the previous context and is logged; only a
 * pair that never loaded fails (at start-up, or 454 for that STARTTLS).
 */
import { type Stats } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createSecureContext, type SecureContext, type Server as TlsServer } from "node:tls";
import { type Logger } from "pino";
import { logEvents } from "./diagnostics";
import { chainFromPem, type ServedChain } from "./ocsp";

export interface CertificatePair {
  /** PEM file: the certificate, then any intermediates */
  certificate: string;
  /** PEM file: the private key */
  privatekey: string;
}

export const TLS_MIN_VERSION = "TLSv1.2";

/** Told of every (re)load of a pair: name "" is the default pair (tls_certificate). */
export type TlsLoadListener = (loaded: { name: string; cert: Buffer; key: Buffer; chain: ServedChain | undefined; reloaded: boolean }) => void;

const stamp = (s: Stats): string => `${s.ino}:${s.size}:${s.mtimeMs}`;

class CachedContext {
  private stamp = "";
  private ctx: SecureContext | undefined;
  private loading: Promise<SecureContext> | undefined;
  /** the served chain of the loaded certificate (OCSP) */
  chain: ServedChain | undefined;

  constructor(
    readonly name: string,
    private readonly pair: CertificatePair,
    private readonly logger: Logger,
    private readonly onLoad?: TlsLoadListener,
  ) {}

  /** The current context, rebuilt first when a file changed. */
  get(): Promise<SecureContext> {
    this.loading ??= this.refresh().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async refresh(): Promise<SecureContext> {
    let now: string;
    try {
      const [c, k] = await Promise.all([stat(this.pair.certificate), stat(this.pair.privatekey)]);
      now = `${stamp(c)}/${stamp(k)}`;
      if (this.ctx !== undefined && now === this.stamp) return this.ctx;
      const [cert, key] = await Promise.all([readFile(this.pair.certificate), readFile(this.pair.privatekey)]);
      const ctx = createSecureContext({ cert, key, minVersion: TLS_MIN_VERSION });
      const reloaded = this.ctx !== undefined;
      let chain: ServedChain | undefined;
      try {
        chain = chainFromPem(cert);
      } catch {
        chain = undefined; // createSecureContext accepted it; OCSP then just skips this pair
      }
      this.ctx = ctx;
      this.stamp = now;
      this.chain = chain;
      try {
        this.onLoad?.({ name: this.name, cert, key, chain, reloaded });
      } catch (err) {
        this.logger.warn({ event: logEvents.tlsReloadFailed, err, name: this.name, certificate: this.pair.certificate }, "TLS certificate load listener failed");
      }
      this.logger.info({ event: logEvents.tlsLoaded, name: this.name, certificate: this.pair.certificate, reloaded }, `TLS certificate ${reloaded ? "reloaded" : "loaded"}: ${this.pair.certificate}`);
      return ctx;
    } catch (err) {
      if (this.ctx === undefined) throw err;
      this.logger.warn({ event: logEvents.tlsReloadFailed, err, name: this.name, certificate: this.pair.certificate }, "TLS certificate reload failed; keeping the previous one");
      return this.ctx;
    }
  }
}

export class TlsCertificates {
  private readonly fallback: CachedContext;
  private readonly byName = new Map<string, CachedContext>();

  /** the non-listening tls.Server whose 'OCSPRequest' listener staples (see ocsp.ts), when stapling is on */
  ocspServer: TlsServer | undefined;

  constructor(pair: CertificatePair, sni: Readonly<Record<string, CertificatePair>>, logger: Logger, onLoad?: TlsLoadListener) {
    this.fallback = new CachedContext("", pair, logger, onLoad);
    for (const [name, p] of Object.entries(sni)) this.byName.set(name.toLowerCase().replace(/\.$/, ""), new CachedContext(name, p, logger, onLoad));
  }

  /** The loaded chains by name ("" for the default pair). */
  chains(): Array<{ name: string; chain: ServedChain }> {
    const out: Array<{ name: string; chain: ServedChain }> = [];
    for (const c of [this.fallback, ...this.byName.values()]) if (c.chain !== undefined) out.push({ name: c.name, chain: c.chain });
    return out;
  }

  /** The default pair's chain (tls_certificate). */
  defaultChain(): ServedChain | undefined {
    return this.fallback.chain;
  }

  /** Loads every pair once; throws for one that cannot be loaded (start-up). */
  async load(): Promise<void> {
    await Promise.all([this.fallback, ...this.byName.values()].map((c) => c.get()));
  }

  /** The context for a server name (the default pair when none matches or no SNI was sent). */
  context(servername?: string): Promise<SecureContext> {
    const c = servername === undefined ? undefined : this.byName.get(servername.toLowerCase().replace(/\.$/, ""));
    return (c ?? this.fallback).get();
  }

  /** For tls.TLSSocket's SNICallback. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    this.context(servername).then(
      (ctx) => cb(null, ctx),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  };
}
