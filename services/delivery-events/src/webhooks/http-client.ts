/**
 * POSTs webhook requests through a keep-alive agent whose DNS lookup refuses
 * addresses the operator has not allowed (address-policy.ts), so the check
 * and the connection use the same address (no DNS rebinding in between).
 * Redirects are not followed; any status but 2xx is a failure.
 */
import * as dns from "node:dns";
import * as http from "node:http";
import * as https from "node:https";
import type { LookupFunction } from "node:net";
import { WebhookDeniedError } from "../errors";
import { type AllowList, deniedReason, hostAllowedByName, parseAddress } from "./address-policy";

export interface PostResult {
  ok: boolean;
  status?: number;
  /** Why it failed: "HTTP 503", "timed out after 10000 ms", "refused: 10.0.0.1 is private ...". */
  error?: string;
}

type LookupAll = (hostname: string, callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void) => void;
const systemLookup: LookupAll = (hostname, callback) => dns.lookup(hostname, { all: true }, callback);

/** A lookup for net.connect that fails with WebhookDeniedError when any address of `hostname` is denied. */
export function guardedLookup(allow: AllowList, resolveAll: LookupAll = systemLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolveAll(hostname, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const family = options.family === 4 || options.family === 6 ? options.family : 0;
      const usable = addresses.filter((a) => family === 0 || a.family === family);
      const denied = usable.map((a) => deniedReason(allow, a.address)).find((reason) => reason !== undefined);
      if (denied !== undefined) return callback(new WebhookDeniedError(`refused: ${hostname} resolves to ${denied}`, hostname), "", 0);
      const [first] = usable;
      if (first === undefined) return callback(Object.assign(new Error(`${hostname}: no usable address`), { code: "ENOTFOUND" }), "", 0);
      if (options.all) return callback(null, usable);
      callback(null, first.address, first.family);
    });
  };
}

export interface WebhookClientOptions {
  timeoutMs: number;
  maxSockets: number;
  allow: AllowList;
  /** Tests: resolve names without the system resolver. */
  resolveAll?: LookupAll;
}

export class WebhookClient {
  private readonly agent: http.Agent;
  private readonly url: URL;
  private readonly literalDenied: string | undefined;

  constructor(url: string, private readonly opts: WebhookClientOptions) {
    this.url = new URL(url);
    const host = this.url.hostname.replace(/^\[(.*)\]$/, "$1");
    const literal = parseAddress(host) !== undefined;
    this.literalDenied = literal ? deniedReason(opts.allow, host) : undefined;
    const byName = !literal && hostAllowedByName(opts.allow, host);
    const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets, ...(literal || byName ? {} : { lookup: guardedLookup(opts.allow, opts.resolveAll) }) };
    this.agent = this.url.protocol === "https:" ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  post(body: string, headers: Record<string, string>): Promise<PostResult> {
    if (this.literalDenied !== undefined) return Promise.resolve({ ok: false, error: `refused: ${this.literalDenied}` });
    const request = this.url.protocol === "https:" ? https.request : http.request;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: PostResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const req = request(this.url, {
        method: "POST",
        agent: this.agent,
        headers: { "content-type": "application/json", "user-agent": "postern-delivery-events", "content-length": String(Buffer.byteLength(body)), ...headers },
      });
      const timer = setTimeout(() => {
        req.destroy(new Error(`timed out after ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      req.on("response", (res) => {
        res.resume(); // the body is not needed; reading it lets the socket be reused
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          finish(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` });
        });
        res.on("error", (err) => finish({ ok: false, status: res.statusCode, error: err.message }));
      });
      req.on("error", (err) => finish({ ok: false, error: err instanceof WebhookDeniedError ? err.message : `${(err as NodeJS.ErrnoException).code ?? "error"}: ${err.message}` }));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
