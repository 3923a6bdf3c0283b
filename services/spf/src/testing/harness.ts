/**
 * Test support (excluded from the build): the spf service in-process through
 * runService against a real nats-server, an EdgeCallback server that collects
 * ReportSpf calls as the edge's does, and a zone that covers every result.
 */
import { type Bus, codecs, subjects } from "@postern/bus";
import { createZoneDns, type SpfDns, type ZoneData } from "@postern/libspf";
import { type Ack, EdgeCallbackService, type EdgeCallbackServer, SpfCheckRequest, type SpfVerdict } from "@postern/proto";
import { type GrpcServerHandle, runService, type ServiceContext, startGrpcServer, VerdictStreams } from "@postern/service-kit";
import { type Backend, freePort, LogSink } from "@postern/testing";
import { pino } from "pino";
import { configSchema, type SpfConfig } from "../config";
import { startSpf } from "../service";

export const zone: ZoneData = {
  "pass.test": [{ TXT: "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all" }],
  "fail.test": [{ TXT: "v=spf1 -all exp=why.fail.test" }],
  "why.fail.test": [{ TXT: "%{i} is not one of %{d}'s designated mail servers" }],
  "soft.test": [{ TXT: "v=spf1 ~all" }],
  "neutral.test": [{ TXT: "v=spf1 ?all" }],
  "broken.test": [{ TXT: "v=spf1 ip4:bogus -all" }],
  "slow.test": ["TIMEOUT"],
  "include.test": [{ TXT: "v=spf1 include:pass.test -all" }],
  "mx.test": [{ TXT: "v=spf1 mx -all" }, { MX: [10, "mail.mx.test"] }],
  "mail.mx.test": [{ A: "198.51.100.7" }, { AAAA: "2001:db8:5::7" }],
  "nospf.test": [{ A: "192.0.2.99" }],
};

export const zoneDns = (): SpfDns => createZoneDns(zone);

/** `dns` with every answer `ms` late (for shutdown and timeout tests). */
export function slowDns(dns: SpfDns, ms: number): SpfDns {
  const later = <T>(p: Promise<T>): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(p), ms));
  return { txt: (n) => later(dns.txt(n)), a: (n) => later(dns.a(n)), aaaa: (n) => later(dns.aaaa(n)), mx: (n) => later(dns.mx(n)), ptr: (n) => later(dns.ptr(n)) };
}

export interface TestSpf {
  ctx: ServiceContext<SpfConfig>;
  grpcAddress: string;
  logs: LogSink;
  stop(): Promise<void>;
}

export function natsSection(nats: Backend): Record<string, unknown> {
  const memory = { storage: "memory" };
  return { servers: [nats.url], reconnect_wait_ms: 200, jetstream: { mail: memory, events: memory, spool: memory, kv: memory } };
}

/** `dns: null` runs the real resolver from the `dns` section; the default is the in-memory zone. */
export async function startTestSpf(nats: Backend, opts: { dns?: SpfDns | null; spf?: Record<string, unknown> } = {}): Promise<TestSpf> {
  const grpcAddress = `127.0.0.1:${await freePort()}`;
  const logs = new LogSink();
  const config = { log: { level: "debug" }, nats: natsSection(nats), spf: { grpc: { listen: grpcAddress }, receiver: "spf.test", ...opts.spf } };
  const dns = opts.dns === null ? undefined : (opts.dns ?? zoneDns());
  const ctx = await runService({
    name: "spf",
    schema: configSchema,
    config,
    env: {},
    installSignalHandlers: false,
    exitOnError: false,
    logDestination: logs,
    start: (c) => startSpf(c, dns === undefined ? {} : { dns }),
  });
  return { ctx, grpcAddress, logs, stop: () => ctx.shutdown.trigger("test finished") };
}

/** The edge's side of the protocol: an EdgeCallback server that records ReportSpf calls by txn_id. */
export interface CallbackServer {
  address: string;
  verdicts: Map<string, SpfVerdict>;
  waitFor(txnId: string, timeoutMs?: number): Promise<SpfVerdict>;
  stop(): Promise<void>;
}

/**
 * `batched: false` plays an edge from before ReportSpfBatch (its calls answer UNIMPLEMENTED), `streamed: false`
 * one from before StreamSpfVerdicts.
 */
export async function startCallbackServer(options: { batched?: boolean; streamed?: boolean } = {}): Promise<CallbackServer> {
  const verdicts = new Map<string, SpfVerdict>();
  const waiters = new Map<string, (v: SpfVerdict) => void>();
  const ack: Ack = {};
  const streams = new VerdictStreams();
  const record = (verdict: SpfVerdict): void => {
    verdicts.set(verdict.txnId, verdict);
    waiters.get(verdict.txnId)?.(verdict);
  };
  const impl: EdgeCallbackServer = {
    reportSpf(call, callback) {
      record(call.request);
      callback(null, ack);
    },
    reportSpfBatch(call, callback) {
      call.request.verdicts.forEach(record);
      callback(null, ack);
    },
    reportDmarc: (_call, callback) => callback(null, ack),
    reportDmarcBatch: (_call, callback) => callback(null, ack),
    putStaple: (_call, callback) => callback(null, ack),
    streamSpfVerdicts: (call, callback) => streams.serve(call, callback, (m) => m.verdicts.forEach(record), ack),
    streamDmarcVerdicts: (call, callback) => streams.serve(call, callback, () => undefined, ack),
  };
  if (options.batched === false) delete (impl as Partial<EdgeCallbackServer>).reportSpfBatch;
  if (options.batched === false || options.streamed === false) delete (impl as Partial<EdgeCallbackServer>).streamSpfVerdicts;
  const server: GrpcServerHandle = await startGrpcServer({ listen: "127.0.0.1:0", logger: pino({ level: "silent" }), services: [[EdgeCallbackService, impl]] });
  return {
    address: server.address,
    verdicts,
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

/** Publishes a check as the edge's spf-gate does. */
export function publishCheck(bus: Bus, request: Partial<SpfCheckRequest>): void {
  bus.nc.publish(subjects.spfCheck, codecs.spfCheck.encode(SpfCheckRequest.fromPartial(request)));
}

/** Sum of a counter in a service's registry, optionally for one label value. */
export async function counterValue(ctx: ServiceContext<unknown>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = ctx.metrics.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}
