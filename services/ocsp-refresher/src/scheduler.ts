/**
 * Every scan_interval_ms (and when poked), picks the certificates that are due and not leased
 * from the mirror of ocsp-certs and refreshes up to `concurrency` of them at once. The lease
 * in KV, not this loop, decides which instance refreshes a certificate.
 */
import type { Logger } from "pino";
import { logEvents } from "./diagnostics";
import { type KvMirror } from "./mirror";
import { type CertRecord } from "./records";

export interface SchedulerOptions {
  mirror: KvMirror<CertRecord>;
  clock: () => number;
  intervalMs: number;
  concurrency: number;
  refresh: (certId: string) => Promise<void>;
  logger: Logger;
}

export class Scheduler {
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {}

  start(): void {
    this.timer = setInterval(() => this.scan(), this.opts.intervalMs);
    this.scan();
  }

  /** Scan soon, without waiting for the next tick. */
  poke(): void {
    if (!this.stopped) setImmediate(() => this.scan());
  }

  private scan(): void {
    if (this.stopped) return;
    try {
      const now = this.opts.clock();
      for (const [certId, { value }] of this.opts.mirror.entries) {
        if (this.inFlight.size >= this.opts.concurrency) break;
        if (this.inFlight.has(certId) || value.next_refresh_at > now) continue;
        if (value.lease !== undefined && value.lease.until > now) continue;
        const run = this.opts
          .refresh(certId)
          .catch((err: unknown) => this.opts.logger.error({ event: logEvents.scanFailed, cert_id: certId, err }, "refresh failed"))
          .finally(() => {
            this.inFlight.delete(certId);
          });
        this.inFlight.set(certId, run);
      }
    } catch (err) {
      this.opts.logger.error({ event: logEvents.scanFailed, err }, "scan failed");
    }
  }

  /** Stops scanning and waits for the refreshes under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all(this.inFlight.values());
  }
}
