/**
 * Test support (excluded from the build): the dmarc service in-process
 * through runService against a real nats-server, an EdgeCallback server that
 * collects ReportDmarc calls, and DKIM-signed messages over an in-memory zone.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { type Bus, codecs, subjects } from "@postern/bus";
import { signMessage } from "@postern/dkim";
import { createDmarcZone, type DmarcDns, type DmarcZone } from "@postern/libdmarc";
import { type Ack, DmarcCheckRequest, type DmarcVerdict, EdgeCallbackService, type EdgeCallbackServer } from "@postern/proto";
import { type GrpcServerHandle, runService, type ServiceContext, startGrpcServer, VerdictStreams } from "@postern/service-kit";
import { type Backend, freePort, LogSink } from "@postern/testing";
import { pino } from "pino";
import { configSchema, type DmarcConfig } from "../config";
import { startDmarc } from "../service";

export interface SigningKey {
  privateKey: KeyObject;
  /** the TXT value to publish at <selector>._domainkey.<domain> */
  record: string;
}

export function ed25519Key(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return { privateKey, record: `v=DKIM1; k=ed25519; p=${raw.toString("base64")}` };
}

/** A small RFC 5322 message with CRLF line ends. */
export function message(from: string, opts: { subject?: string; bodyBytes?: number } = {}): Buffer {
  const body = "x".repeat(Math.max(0, (opts.bodyBytes ?? 64) - 2)).replace(/(.{76})/g, "$1\r\n");
  return Buffer.from(`From: ${from}\r\nTo: user@receiver.test\r\nSubject: ${opts.subject ?? "test"}\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@sender.test>\r\n\r\n${body}\r\n`);
}

export function sign(msg: Buffer, domain: string, selector: string, key: SigningKey): Buffer {
  return Buffer.concat([Buffer.from(signMessage(msg, { domain, selector, privateKey: key.privateKey })), msg]);
}

export const key = ed25519Key();

export const zone: DmarcZone = {
  "_dmarc.reject.test": { txt: ["v=DMARC1; p=reject; rua=mailto:agg@reject.test; ruf=mailto:fail@reject.test; fo=1"] },
  "_dmarc.quarantine.test": { txt: ["v=DMARC1; p=quarantine"] },
  "_dmarc.none.test": { txt: ["v=DMARC1; p=none"] },
  "_dmarc.slow.test": { fail: "timeout" },
  "s1._domainkey.reject.test": { txt: [key.record] },
  "s1._domainkey.other.test": { txt: [key.record] },
};

export interface TestDmarc {
  ctx: ServiceContext<DmarcConfig>;
  grpcAddress: string;
  logs: LogSink;
  stop(): Promise<void>;
}

export function natsSection(nats: Backend): Record<string, unknown> {
  const memory = { storage: "memory" };
  return { servers: [nats.url], reconnect_wait_ms: 200, jetstream: { mail: memory, events: memory, spool: memory, kv: memory } };
}

export async function startTestDmarc(nats: Backend, opts: { dns?: DmarcDns; dmarc?: Record<string, unknown> } = {}): Promise<TestDmarc> {
  const grpcAddress = `127.0.0.1:${await freePort()}`;
  const logs = new LogSink();
  const config = { log: { level: "debug" }, nats: natsSection(nats), dmarc: { grpc: { listen: grpcAddress }, authserv_id: "mx.receiver.test", ...opts.dmarc } };
  const dns = opts.dns ?? createDmarcZone(zone);
  const ctx = await runService({
    name: "dmarc",
    schema: configSchema,
    config,
    env: {},
    installSignalHandlers: false,
    exitOnError: false,
    logDestination: logs,
    start: (c) => startDmarc(c, { dns }),
  });
  return { ctx, grpcAddress, logs, stop: () => ctx.shutdown.trigger("test finished") };
}

export interface CallbackServer {
  address: string;
  waitFor(txnId: string, timeoutMs?: number): Promise<DmarcVerdict>;
  stop(): Promise<void>;
}

/** The edge's side: an EdgeCallback server that records ReportDmarc calls by txn_id. */
export async function startCallbackServer(): Promise<CallbackServer> {
  const verdicts = new Map<string, DmarcVerdict>();
  const waiters = new Map<string, (v: DmarcVerdict) => void>();
  const ack: Ack = {};
  const streams = new VerdictStreams();
  const record = (v: DmarcVerdict): void => {
    verdicts.set(v.txnId, v);
    waiters.get(v.txnId)?.(v);
  };
  const impl: EdgeCallbackServer = {
    reportSpf: (_call, callback) => callback(null, ack),
    reportSpfBatch: (_call, callback) => callback(null, ack),
    reportDmarc(call, callback) {
      record(call.request);
      callback(null, ack);
    },
    reportDmarcBatch(call, callback) {
      call.request.verdicts.forEach(record);
      callback(null, ack);
    },
    putStaple: (_call, callback) => callback(null, ack),
    streamSpfVerdicts: (call, callback) => streams.serve(call, callback, () => undefined, ack),
    streamDmarcVerdicts: (call, callback) => streams.serve(call, callback, (m) => m.verdicts.forEach(record), ack),
  };
  const server: GrpcServerHandle = await startGrpcServer({ listen: "127.0.0.1:0", logger: pino({ level: "silent" }), services: [[EdgeCallbackService, impl]] });
  return {
    address: server.address,
    waitFor(txnId, timeoutMs = 5_000) {
      const known = verdicts.get(txnId);
      if (known) return Promise.resolve(known);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no verdict for ${txnId} within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(txnId, (v) => {
          clearTimeout(timer);
          resolve(v);
        });
      });
    },
    stop: () => {
      const closed = server.close();
      streams.end();
      return closed;
    },
  };
}

export function publishCheck(bus: Bus, request: Partial<DmarcCheckRequest>): void {
  bus.nc.publish(subjects.dmarcCheck, codecs.dmarcCheck.encode(DmarcCheckRequest.fromPartial(request)));
}

export async function counterValue(ctx: ServiceContext<unknown>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = ctx.metrics.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}
