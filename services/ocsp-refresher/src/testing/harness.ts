/**
 * Test-only wiring: a real nats-server, the real OpenSSL responder (./responder.ts), a fake
 * edge that records PutStaple calls, and ocsp-refresher in-process with a clock tests can move.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Bus, codecs, connectBus, type KV, natsConfigSchema, openKv, subjects } from "@postern/bus";
import { type Ack, type EdgeCallbackServer, EdgeCallbackService, type Event, type OcspWatchRequest, type Staple } from "@postern/proto";
import { createLogger, type GrpcServerHandle, runService, type ServiceContext, startGrpcServer } from "@postern/service-kit";
import { type Backend, startNats } from "@postern/testing";
import { configSchema, type OcspRefresherConfig } from "../config";
import { type CertRecord, decodeCertRecord, decodeStaple, encodeRecord, type StapleEnvelope } from "../records";
import { startOcspRefresher } from "../service";
import { startResponder, type TestResponder } from "./responder";

export interface LogRecord {
  event?: string;
  msg: string;
  cert_id?: string;
  code?: string;
  [k: string]: unknown;
}

export interface Harness {
  nats: Backend;
  bus: Bus;
  responder: TestResponder;
  edge: { address: string; staples: Staple[] };
  events: Event[];
  logs: LogRecord[];
  stapleDir: string;
  /** the refresher's clock is Date.now() + offset */
  clock: { offset: number };
  start(settings?: Record<string, unknown>): Promise<ServiceContext<OcspRefresherConfig>>;
  /** announces `name` (a certificate of the responder's PKI) as the fake edge would; returns its cert_id */
  announce(name: string, edge?: string): Promise<string>;
  publishRaw(request: OcspWatchRequest): Promise<void>;
  cert(certId: string): Promise<{ record: CertRecord; revision: number } | undefined>;
  staple(certId: string): Promise<{ envelope: StapleEnvelope; revision: number } | undefined>;
  /** sets next_refresh_at to 0 (as an operator may), so the next scan refreshes it */
  makeDue(certId: string): Promise<void>;
  close(): Promise<void>;
}

export const certIdOf = (der: Buffer): string => createHash("sha256").update(der).digest("hex");

/** Polls `probe` until it returns something other than undefined/false. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined && got !== false) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startFakeEdge(staples: Staple[]): Promise<GrpcServerHandle> {
  const ack: Ack = {};
  const impl: EdgeCallbackServer = {
    reportSpf: (_call, cb) => cb(null, ack),
    reportDmarc: (_call, cb) => cb(null, ack),
    reportSpfBatch: (_call, cb) => cb(null, ack),
    reportDmarcBatch: (_call, cb) => cb(null, ack),
    // not used here: answered at once, as an edge answers a worker's half-close
    streamSpfVerdicts: (_call, cb) => cb(null, ack),
    streamDmarcVerdicts: (_call, cb) => cb(null, ack),
    putStaple: (call, cb) => {
      staples.push(call.request);
      cb(null, ack);
    },
  };
  return startGrpcServer({ listen: "127.0.0.1:0", logger: createLogger({ name: "fake-edge", level: "error" }), services: [[EdgeCallbackService, impl]] });
}

export async function startHarness(): Promise<Harness> {
  const nats = await startNats();
  const responder = await startResponder();
  const logger = createLogger({ name: "test", level: "error" });
  const bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "test", logger });
  const edgeStaples: Staple[] = [];
  const edgeServer = await startFakeEdge(edgeStaples);
  const events: Event[] = [];
  const sub = bus.nc.subscribe("postern.event.ocsp.>", {
    callback: (_e, msg) => {
      events.push(codecs.event.decode(msg.data));
    },
  });
  const logs: LogRecord[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) logs.push(JSON.parse(line) as LogRecord);
      cb();
    },
  });
  const stapleDir = mkdtempSync(join(tmpdir(), "postern-staples-"));
  const contexts: Array<ServiceContext<OcspRefresherConfig>> = [];
  const clock = { offset: 0 };
  let kvs: { certs: KV; staples: KV } | undefined;
  const stores = async (): Promise<{ certs: KV; staples: KV }> =>
    (kvs ??= { certs: await openKv(bus, "ocsp-certs"), staples: await openKv(bus, "ocsp-staples") });

  const h: Harness = {
    nats,
    bus,
    responder,
    edge: { address: edgeServer.address, staples: edgeStaples },
    events,
    logs,
    stapleDir,
    clock,
    async start(settings = {}) {
      const ctx = await runService({
        name: "ocsp-refresher",
        schema: configSchema,
        config: {
          log: { level: "info" },
          nats: { servers: [nats.url], jetstream: { mail: { storage: "memory" }, events: { storage: "memory" }, spool: { storage: "memory" }, kv: { storage: "memory" } } },
          ocsp_refresher: { scan_interval_ms: 100, fetch_timeout_ms: 3000, lease_ms: 10_000, staple_file_dir: stapleDir, ...settings },
        },
        env: {},
        installSignalHandlers: false,
        exitOnError: false,
        logDestination: destination,
        start: (c) => startOcspRefresher(c, { clock: () => Date.now() + clock.offset }),
      });
      contexts.push(ctx);
      return ctx;
    },
    async announce(name, edge = edgeServer.address) {
      const leafDer = responder.der(name);
      const certId = certIdOf(leafDer);
      await h.publishRaw({ certId, leafDer, issuerDer: responder.der("ca"), replyTo: { grpcAddress: edge, txnId: "" } });
      return certId;
    },
    async publishRaw(request) {
      bus.nc.publish(subjects.ocspWatch, codecs.ocspWatch.encode(request));
      await bus.nc.flush();
    },
    async cert(certId) {
      const e = await (await stores()).certs.get(certId);
      return e === null || e.operation !== "PUT" ? undefined : { record: decodeCertRecord(certId, e.value), revision: e.revision };
    },
    async staple(certId) {
      const e = await (await stores()).staples.get(certId);
      return e === null || e.operation !== "PUT" ? undefined : { envelope: decodeStaple(certId, e.value), revision: e.revision };
    },
    async makeDue(certId) {
      const { certs } = await stores();
      for (;;) {
        const e = await certs.get(certId);
        if (e === null) throw new Error(`no record for ${certId}`);
        const record = decodeCertRecord(certId, e.value);
        try {
          await certs.update(certId, encodeRecord({ ...record, next_refresh_at: 0 }), e.revision);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    },
    async close() {
      for (const ctx of contexts) await ctx.shutdown.trigger("test done");
      sub.unsubscribe();
      await edgeServer.close();
      await responder.close();
      await bus.drain();
      await nats.stop();
      rmSync(stapleDir, { recursive: true, force: true });
    },
  };
  return h;
}
