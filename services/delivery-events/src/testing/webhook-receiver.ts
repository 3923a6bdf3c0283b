/**
 * A local HTTP webhook receiver for tests: checks each request's Standard
 * Webhooks signature, answers with the status `respond` picks, and records
 * the requests it accepted.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { parseSecret, verify } from "../webhooks/signing";

export interface Received {
  id: string;
  timestamp: number;
  body: { type: string; timestamp: string; data: Record<string, unknown> };
}

export interface WebhookReceiver {
  url: string;
  /** Requests answered 2xx, in arrival order. */
  accepted: Received[];
  /** Every request with a valid signature, whatever the answer. */
  attempts: number;
  /** Requests whose signature did not verify (answered 401). */
  badSignatures: number;
  /** Status for the n-th request (1-based) with a valid signature. */
  respond: (n: number, received: Received) => number;
  close(): Promise<void>;
}

const header = (headers: IncomingHttpHeaders, name: string): string => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(" ") : (value ?? "");
};

export async function startWebhookReceiver(secret: string, respond: WebhookReceiver["respond"] = () => 204): Promise<WebhookReceiver> {
  const key = parseSecret(secret);
  if (!key) throw new Error("bad test secret");
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const signed = { "webhook-id": header(req.headers, "webhook-id"), "webhook-timestamp": header(req.headers, "webhook-timestamp"), "webhook-signature": header(req.headers, "webhook-signature") };
      if (req.method !== "POST" || !verify(key, signed, raw, Math.floor(Date.now() / 1000))) {
        receiver.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      const received: Received = { id: signed["webhook-id"], timestamp: Number(signed["webhook-timestamp"]), body: JSON.parse(raw) as Received["body"] };
      receiver.attempts++;
      const status = receiver.respond(receiver.attempts, received);
      if (status >= 200 && status < 300) receiver.accepted.push(received);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hook`,
    accepted: [],
    attempts: 0,
    badSignatures: 0,
    respond,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}
