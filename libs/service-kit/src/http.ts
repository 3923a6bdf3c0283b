import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo } from "node:net";
import { type Logger } from "pino";
import { type Registry } from "prom-client";
import { logEvents } from "./diagnostics";
import { type HealthState } from "./health";

export interface HttpServerHandle {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, body: unknown): void => send(res, status, "application/json", JSON.stringify(body));

async function route(req: IncomingMessage, res: ServerResponse, registry: Registry, health: HealthState): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  const known = path === "/metrics" || path === "/healthz" || path === "/readyz";
  if (!known) return sendJson(res, 404, { error: "not found" });
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return sendJson(res, 405, { error: "method not allowed" });
  }
  if (path === "/metrics") return send(res, 200, registry.contentType, await registry.metrics());
  const status = health.status();
  if (path === "/healthz") return sendJson(res, status === "ok" ? 200 : 503, { status });
  const failing = await health.failingChecks();
  if (failing.length === 0 && status === "ok") return sendJson(res, 200, { status: "ok" });
  sendJson(res, 503, { status: status === "ok" ? "not_ready" : status, failing });
}

/**
 * Serves GET /metrics (prometheus text), /healthz and /readyz on host:port (0: any free port).
 * Nothing else is served; request bodies are never read.
 */
export async function startHttpServer(opts: { host: string; port: number; registry: Registry; health: HealthState; logger: Logger }): Promise<HttpServerHandle> {
  const server = createServer((req, res) => {
    route(req, res, opts.registry, opts.health).catch((err: unknown) => {
      opts.logger.error({ err, path: req.url }, logEvents.httpError);
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // exclusive: in a node:cluster worker, bind here rather than share the primary's socket (port 0 would otherwise be
    // one listener for every worker, and each worker's /metrics would answer for any of them)
    server.listen({ port: opts.port, host: opts.host, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
