/**
 * Exim's smtp_accept_max and smtp_accept_max_per_host: how many SMTP
 * connections may be open at once, in all and from one client address.
 *
 * SECURITY: the per-host count is keyed by the client address policy sees
 * (the PROXY header's source for peers in hosts_proxy), so one client behind
 * a load balancer cannot use up the whole budget and a load balancer is not
 * limited as one host. The total is taken at TCP accept (a PROXY negotiation
 * occupies a slot too), the per-host slot once the client address is known.
 * Memory: one map entry per client address with a connection open.
 */
import { reply, type Reply } from "@postern/smtp";

/** Exim's wording (smtp_accept_max), with the enhanced code of RFC 3463 "system congestion". */
export const tooManyConnections: Reply = reply(421, "4.3.2", "Too many concurrent SMTP connections; please try again later");
/** Exim's wording (smtp_accept_max_per_host). */
export const tooManyFromHost: Reply = reply(421, "4.3.2", "Too many concurrent SMTP connections from this IP address; please try again later");

export interface ConnectionLimits {
  /** 0: no limit */
  max: number;
  /** 0: no limit */
  maxPerHost: number;
}

export class ConnectionLimiter {
  private open = 0;
  private readonly perHost = new Map<string, number>();

  constructor(private readonly limits: ConnectionLimits) {}

  /** Takes a slot of smtp_accept_max; false (nothing taken) when they are all in use. */
  acquire(): boolean {
    if (this.limits.max > 0 && this.open >= this.limits.max) return false;
    this.open++;
    return true;
  }

  release(): void {
    if (this.open > 0) this.open--;
  }

  /** Takes a slot of smtp_accept_max_per_host for this client address; false (nothing taken) when it has them all. */
  acquireHost(ip: string): boolean {
    const n = this.perHost.get(ip) ?? 0;
    if (this.limits.maxPerHost > 0 && n >= this.limits.maxPerHost) return false;
    this.perHost.set(ip, n + 1);
    return true;
  }

  releaseHost(ip: string): void {
    const n = this.perHost.get(ip) ?? 0;
    if (n <= 1) this.perHost.delete(ip);
    else this.perHost.set(ip, n - 1);
  }

  /** connections holding a slot */
  get total(): number {
    return this.open;
  }

  /** connections from this address holding a per-host slot */
  fromHost(ip: string): number {
    return this.perHost.get(ip) ?? 0;
  }

  /** client addresses with a connection open */
  get hosts(): number {
    return this.perHost.size;
  }
}
