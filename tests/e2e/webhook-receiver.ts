/**
 * A local HTTP receiver for delivery-events webhooks, verifying each request as
 * a Standard Webhooks consumer would, written from the specification with
 * node:crypto (not with delivery-events' own signing code): the secret is
 * whsec_<base64 key>, webhook-signature holds space-separated `v1,<base64>`
 * HMAC-SHA256 values of "<webhook-id>.<webhook-timestamp>.<body>", and the
 * timestamp must be within five minutes.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface Delivery {
  id: string;
  timestamp: number;
  type: string;
  data: Record<string, unknown> & { id: string; name: string; sequence: string; messageId?: string };
}

export interface Receiver {
  url: string;
  /** Requests answered 2xx, in arrival order. */
  accepted: Delivery[];
  /** Correctly signed requests, whatever the answer. */
  attempts: number;
  /** Requests refused because the signature or timestamp did not verify. */
  rejected: number;
  /** The status to answer a correctly signed request with. */
  respond: (delivery: Delivery, attempt: number) => number;
  close(): Promise<void>;
}

/** A fresh whsec_ secret. */
export function newSecret(): string {
  return `whsec_${Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString("base64")}`;
}

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(" ") : (value ?? "");
}

export function verifies(secret: string, id: string, timestamp: string, signatures: string, body: string, nowSeconds = Date.now() / 1000): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64"));
  return signatures.split(" ").some((entry) => {
    const [version, value = ""] = entry.split(",", 2);
    const given = Buffer.from(value);
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export async function startReceiver(secret: string, respond: Receiver["respond"] = () => 204): Promise<Receiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const id = header(req, "webhook-id");
      const timestamp = header(req, "webhook-timestamp");
      if (req.method !== "POST" || header(req, "content-type") !== "application/json" || !verifies(secret, id, timestamp, header(req, "webhook-signature"), body)) {
        receiver.rejected++;
        res.writeHead(401).end();
        return;
      }
      const parsed = JSON.parse(body) as { type: string; data: Delivery["data"] };
      const delivery: Delivery = { id, timestamp: Number(timestamp), type: parsed.type, data: parsed.data };
      receiver.attempts++;
      const status = receiver.respond(delivery, receiver.attempts);
      if (status >= 200 && status < 300) receiver.accepted.push(delivery);
      res.writeHead(status).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/postern`,
    accepted: [],
    attempts: 0,
    rejected: 0,
    respond,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}
