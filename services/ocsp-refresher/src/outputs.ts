/**
 * Where a stored staple goes besides KV: the edges that announced the certificate
 * (EdgeCallback.PutStaple) and, optionally, Exim's tls_ocsp_file (<dir>/<cert_id>.der).
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { EdgeCallbackClient, Staple } from "@postern/proto";
import { type GrpcClientPool, unaryCall } from "@postern/service-kit";
import type { Logger } from "pino";
import { logEvents, type RefresherMetrics } from "./diagnostics";
import { type StapleEnvelope } from "./records";

export function stapleMessage(certId: string, envelope: StapleEnvelope): Staple {
  return {
    certId,
    ocspResponseDer: Buffer.from(envelope.der, "base64"),
    thisUpdate: new Date(envelope.this_update),
    nextUpdate: new Date(envelope.next_update),
  };
}

export class EdgePusher {
  constructor(
    private readonly pool: GrpcClientPool<EdgeCallbackClient>,
    private readonly deadlineMs: number,
    private readonly metrics: RefresherMetrics,
    private readonly logger: Logger,
  ) {}

  /** PutStaple to every edge at once; failures are logged and counted (the edge reads KV when it starts). */
  async push(edges: Iterable<string>, staple: Staple): Promise<void> {
    await Promise.all(
      [...edges].map(async (edge) => {
        try {
          const client = this.pool.get(edge);
          await unaryCall(client.putStaple.bind(client), staple, this.deadlineMs);
          this.metrics.pushes.inc({ result: "ok" });
        } catch (err) {
          this.metrics.pushes.inc({ result: "error" });
          this.logger.warn({ event: logEvents.pushFailed, cert_id: staple.certId, edge, err }, "PutStaple failed");
        }
      }),
    );
  }
}

export const stapleFilePath = (dir: string, certId: string): string => join(dir, `${certId}.der`);

/** Replaces <dir>/<cert_id>.der atomically: a temporary file in the same directory, fsync, rename. */
export async function writeStapleFile(dir: string, certId: string, der: Uint8Array): Promise<string> {
  const path = stapleFilePath(dir, certId);
  const tmp = join(dir, `.${certId}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", 0o644);
  try {
    await handle.writeFile(der);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return path;
}

/** Removes <dir>/<cert_id>.der: an expired response must not be served from the file either. */
export async function removeStapleFile(dir: string, certId: string): Promise<void> {
  await rm(stapleFilePath(dir, certId), { force: true });
}
