// node --conditions=@postern/source -r ./bench/ts-register.cjs bench/verdict-transport.mjs
// CPU of the verdict transport alone (ADR 0006, "Streams"): the spf service's CoalescingReporter
// against an in-process EdgeCallback server on loopback, client and server in this process.
// BENCH_FLUSHES flushes (default 20,000) of BENCH_PER_FLUSH verdicts (default 4), one flush per
// event-loop turn, the next once the previous is acknowledged (batch) or written (stream); prints
// CPU per flush for mode batch and stream, BENCH_PAIRS times alternating (default 3).
import { createRequire } from "node:module";

const require = createRequire(new URL("../services/spf/package.json", import.meta.url));
const grpc = require("@grpc/grpc-js");
const { CoalescingReporter, GrpcClientPool, startGrpcServer, unaryCall, VerdictStreams } = require("@postern/service-kit");
const { EdgeCallbackClient, EdgeCallbackService, SpfVerdict } = require("@postern/proto");
const { pino } = require("pino");

const FLUSHES = Number(process.env.BENCH_FLUSHES ?? "20000");
const PER_FLUSH = Number(process.env.BENCH_PER_FLUSH ?? "4");
const PAIRS = Number(process.env.BENCH_PAIRS ?? "3");

let received = 0;
const streams = new VerdictStreams();
const ack = {};
const impl = {
  reportSpf: (_c, cb) => cb(null, ack),
  reportDmarc: (_c, cb) => cb(null, ack),
  putStaple: (_c, cb) => cb(null, ack),
  reportSpfBatch: (call, cb) => {
    received += call.request.verdicts.length;
    cb(null, ack);
  },
  reportDmarcBatch: (_c, cb) => cb(null, ack),
  streamSpfVerdicts: (call, cb) => streams.serve(call, cb, (m) => (received += m.verdicts.length), ack),
  streamDmarcVerdicts: (call, cb) => streams.serve(call, cb, () => undefined, ack),
};
const server = await startGrpcServer({ listen: "127.0.0.1:0", logger: pino({ level: "silent" }), services: [[EdgeCallbackService, impl]] });
const verdict = SpfVerdict.fromPartial({ txnId: "x".repeat(22), result: 1, domain: "example.org", receivedSpf: "pass (bench.test: domain of a@example.org designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1;" });

async function run(mode) {
  const pool = new GrpcClientPool(EdgeCallbackClient, grpc.credentials.createInsecure());
  const reporter = new CoalescingReporter({
    mode,
    sendBatch: (a, verdicts, d) => unaryCall(pool.get(a).reportSpfBatch.bind(pool.get(a)), { verdicts }, d),
    sendOne: (a, v, d) => unaryCall(pool.get(a).reportSpf.bind(pool.get(a)), v, d),
    openStream: (a, done) => pool.get(a).streamSpfVerdicts(done),
  });
  const flush = () => Promise.all(Array.from({ length: PER_FLUSH }, () => reporter.report(server.address, verdict, 5_000)));
  for (let i = 0; i < 500; i++) await flush(); // warm-up, connection
  received = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < FLUSHES; i++) await flush();
  while (received < FLUSHES * PER_FLUSH) await new Promise((r) => setImmediate(r));
  const d = process.cpuUsage(cpu);
  const ms = performance.now() - t0;
  await reporter.close();
  pool.close();
  return { cpuPerFlushUs: (d.user + d.system) / FLUSHES, wallPerFlushUs: (ms * 1000) / FLUSHES };
}

console.log(`verdict transport, ${FLUSHES} flushes of ${PER_FLUSH} verdicts, client and server in one process (node ${process.version})`);
for (let p = 0; p < PAIRS; p++) {
  for (const mode of ["batch", "stream"]) {
    const r = await run(mode);
    console.log(`  ${mode.padEnd(6)}  CPU ${r.cpuPerFlushUs.toFixed(0).padStart(5)} µs per flush   wall ${r.wallPerFlushUs.toFixed(0).padStart(5)} µs per flush`);
  }
}
const closed = server.close();
streams.end();
await closed;
