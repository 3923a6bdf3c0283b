/**
 * One query to one server over UDP (fresh socket, OS-chosen source port) or TCP (RFC 7766,
 * 2-octet length prefix), with strict matching: responses from another address or port, with
 * another ID or question, or that do not decode are counted and ignored until the timeout.
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { classify } from "./classify";
import { DnsErrorCode } from "./errors";
import { type Message, decodeMessage, encodeQuery, matchesQuery, newQueryId } from "./message";
import { canonicalAddress } from "./servers";
import type { Exchange, Query, Server } from "./types";

/** What came back from one transport attempt, before classification. */
export type WireResult =
  | { readonly kind: "message"; readonly message: Message; readonly ignored: number }
  | { readonly kind: "timeout"; readonly ignored: number }
  | { readonly kind: "error"; readonly reason: string; readonly ignored: number };

function describe(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.message;
  return String(err);
}

/** Sends `query` over UDP on a socket connected to `server` and waits for the matching answer. */
export function udpQuery(server: Server, query: Query, timeoutMs: number): Promise<WireResult> {
  return new Promise((resolve) => {
    const id = newQueryId();
    const socket = createSocket(server.family === 6 ? "udp6" : "udp4");
    let ignored = 0;
    let done = false;
    const finish = (r: WireResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // already closed after an error: nothing left to release
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: "timeout", ignored }), timeoutMs);
    socket.on("error", (err) => finish({ kind: "error", reason: `udp ${server.label}: ${describe(err)}`, ignored }));
    socket.on("message", (bytes, rinfo) => {
      const msg = rinfo.port === server.port && canonicalAddress(rinfo.address, server.family) === server.host ? decodeMessage(bytes) : null;
      if (msg === null || !matchesQuery(msg, id, query)) {
        ignored++;
        return;
      }
      finish({ kind: "message", message: msg, ignored });
    });
    socket.connect(server.port, server.host, () => {
      socket.send(encodeQuery(id, query), (err) => {
        if (err) finish({ kind: "error", reason: `udp ${server.label}: ${describe(err)}`, ignored });
      });
    });
  });
}

/** Sends `query` over a new TCP connection and reads length-prefixed messages until one matches. */
export function tcpQuery(server: Server, query: Query, timeoutMs: number): Promise<WireResult> {
  return new Promise((resolve) => {
    const id = newQueryId();
    const body = encodeQuery(id, query);
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(body.length);
    const socket = connect({ host: server.host, port: server.port, noDelay: true });
    // Chunks are joined only once a whole length prefix or message is there: linear in the
    // bytes received, however finely a hostile server splits them.
    let chunks: Buffer[] = [];
    let have = 0;
    let need = 2;
    let awaitingPrefix = true;
    let ignored = 0;
    let done = false;
    const finish = (r: WireResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: "timeout", ignored }), timeoutMs);
    socket.on("error", (err) => finish({ kind: "error", reason: `tcp ${server.label}: ${describe(err)}`, ignored }));
    socket.on("close", () => finish({ kind: "error", reason: `tcp ${server.label}: connection closed before an answer`, ignored }));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      while (!done && have >= need) {
        const buf = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, have);
        chunks = [buf];
        if (awaitingPrefix) {
          need = 2 + buf.readUInt16BE(0);
          awaitingPrefix = false;
          continue;
        }
        const msg = decodeMessage(buf.subarray(2, need));
        const rest = buf.subarray(need);
        chunks = rest.length > 0 ? [rest] : [];
        have = rest.length;
        need = 2;
        awaitingPrefix = true;
        if (msg !== null && matchesQuery(msg, id, query)) finish({ kind: "message", message: msg, ignored });
        else ignored++;
      }
    });
    socket.write(Buffer.concat([prefix, body]));
  });
}

export interface WireExchangeOptions {
  /** Per transport attempt; a TCP retry after truncation gets its own timeout. */
  readonly timeoutMs: number;
  /** "udp": UDP, then TCP when the answer is truncated (TC). "tcp": TCP only. */
  readonly transport: "udp" | "tcp";
  readonly maxCnameChain: number;
}

/** The network Exchange: UDP with TCP fallback on TC (or TCP alone), then classify. */
export function wireExchange(options: WireExchangeOptions): Exchange {
  return async (server, query) => {
    let transport = options.transport;
    let wire = transport === "tcp" ? await tcpQuery(server, query, options.timeoutMs) : await udpQuery(server, query, options.timeoutMs);
    let ignored = wire.ignored;
    if (wire.kind === "message" && wire.message.flag_tc && transport === "udp") {
      transport = "tcp";
      wire = await tcpQuery(server, query, options.timeoutMs);
      ignored += wire.ignored;
    }
    switch (wire.kind) {
      case "message":
        return { outcome: classify(query, wire.message, options.maxCnameChain), transport, ignored };
      case "timeout":
        return { outcome: { kind: "timeout" }, transport, ignored };
      case "error":
        return { outcome: { kind: "error", code: DnsErrorCode.Network, reason: wire.reason }, transport, ignored };
    }
  };
}
