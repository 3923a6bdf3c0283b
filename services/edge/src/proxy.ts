/**
 * PROXY protocol negotiation on an accepted socket: reads until the header is
 * complete, wrong, or late. Only peers in hosts_proxy get here; everybody
 * else's bytes go straight to SMTP, where a PROXY line is refused.
 *
 * SECURITY: the header is hostile input from the network path; the parser
 * caps it (proxy_max_header_bytes) and this adapter caps its time
 * (proxy_timeout). Failure details are logged with the bytes escaped.
 */
import { type Socket } from "node:net";
import { type ProxyHeader, ProxyHeaderParser } from "@postern/proxy-protocol";
import { escapeBytes } from "@postern/smtp";

export type ProxyOutcome =
  | { ok: true; header: ProxyHeader; rest: Buffer; headerBytes: number }
  | { ok: false; code: string; reason: string; received: string };

export function negotiateProxy(socket: Socket, opts: { timeoutMs: number; maxHeaderBytes: number }): Promise<ProxyOutcome> {
  const parser = new ProxyHeaderParser({ maxHeaderBytes: opts.maxHeaderBytes });
  return new Promise((resolve) => {
    const finish = (outcome: ProxyOutcome): void => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.pause();
      resolve(outcome);
    };
    const failed = (code: string, reason: string): ProxyOutcome => ({ ok: false, code, reason, received: escapeBytes(parser.buffered(), 200) });
    const onData = (chunk: Buffer): void => {
      const result = parser.push(chunk);
      if (result.status === "done") finish({ ok: true, header: result.header, rest: result.rest, headerBytes: result.headerBytes });
      else if (result.status === "error") finish(failed(result.error.code, result.error.reason));
    };
    const onClose = (): void => finish(failed("POSTERN_PROXY_CLOSED", "connection closed before the header was complete"));
    const timer = setTimeout(() => finish(failed("POSTERN_PROXY_TIMEOUT", `no complete header within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    socket.on("data", onData);
    socket.once("close", onClose);
  });
}
