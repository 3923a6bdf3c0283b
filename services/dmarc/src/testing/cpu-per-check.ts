/**
 * CPU time per dmarc check, in-process and without the network (a measuring
 * tool, not a test): decode a DmarcCheckRequest as NATS delivers it, check it
 * (createCheck: libdkim + libdmarc over the real @postern/dns resolver stack
 * with an in-memory exchange), make the proto verdict, record the aggregate
 * row, encode the verdicts in batches of 8 as the verdict stream does. The
 * request is what bench:pipeline sends: an unsigned message's header section
 * from 127.0.0.1 with SPF pass (SIGNED=1 adds a 1 KB body).
 *   cd services/dmarc && node --conditions=@postern/source -r ../../bench/ts-register.cjs src/testing/cpu-per-check.ts
 * Prints microseconds of CPU (user + system) per check: the median of 7 rounds.
 */
import { codecs } from "@postern/bus";
import { createResolver, type DnsRecord, type Exchange, type Outcome } from "@postern/dns";
import { DmarcCheckRequest, type DmarcVerdict, SpfResult } from "@postern/proto";
import { Registry } from "prom-client";
import { pino } from "pino";
import { createCheck, toProtoVerdict } from "../checker";
import { configSchema } from "../config";
import { createDmarcMetrics } from "../diagnostics";
import { dkimDnsFromDmarcDns, dmarcDnsFromResolver } from "../dns-adapter";
import { AggregateRecorder } from "../reports";
import { encodeDmarcVerdicts } from "../verdict-codec";

const txt = (name: string, s: string): DnsRecord => ({ name, type: "TXT", ttl: 3600, data: [Buffer.from(s)] });
const records: Record<string, DnsRecord[]> = {
  "_dmarc.bench.test": [txt("_dmarc.bench.test", "v=DMARC1; p=reject; adkim=r; aspf=r; rua=mailto:dmarc-rua@bench.test")],
};
const exchange: Exchange = (_s, q) => {
  const rrs = (records[q.name] ?? []).filter((r) => r.type === q.type);
  const outcome: Outcome<DnsRecord> = records[q.name] === undefined ? { kind: "nxdomain", authenticated: false, ttl: 300 } : rrs.length === 0 ? { kind: "nodata", authenticated: false, ttl: 300 } : { kind: "answer", records: rrs, authenticated: false, ttl: 3600 };
  return Promise.resolve({ outcome, transport: "udp", ignored: 0 });
};
const registry = new Registry();
const metrics = createDmarcMetrics(registry);
const dns = dmarcDnsFromResolver(createResolver({ servers: ["127.0.0.1"], exchange, onQuery: metrics.onDnsQuery }));
const cfg = configSchema.parse({ dmarc: { authserv_id: "edge.bench.test" } }).dmarc;
const check = createCheck({ dns, dkimDns: dkimDnsFromDmarcDns(dns), spool: () => Promise.reject(new Error("no")), cfg, metrics });
const fakeBus = { js: { publish: () => Promise.resolve({}) } } as never;
const agg = new AggregateRecorder(fakeBus, { flushMs: 1000, maxRows: 10000, logger: pino({ level: "silent" }) });

const head = Buffer.from("Received: from localhost (localhost [127.0.0.1])\r\n\tby edge.bench.test (Postern) with ESMTP id 1234567890abcdef\r\n\tfor <rcpt@bench.test>; Fri, 27 Nov 2026 19:00:00 +0000\r\nFrom: <sender@bench.test>\r\nTo: <rcpt@bench.test>\r\nDate: Fri, 27 Nov 2026 19:00:00 +0000 (UTC)\r\nMessage-Id: <20261127190000.12345@bench.test>\r\nSubject: test message\r\n\r\n");
const body = process.env.SIGNED ? Buffer.concat([head, Buffer.alloc(1000, 0x61)]) : head;
const wire = codecs.dmarcCheck.encode(DmarcCheckRequest.fromPartial({
  replyTo: { grpcAddress: "127.0.0.1:40000", txnId: "0123456789abcdef01234567" },
  client: { ip: "127.0.0.1", helo: "localhost", port: 40000 } as never,
  sender: "sender@bench.test",
  body: { location: { $case: "inline", value: body }, size: String(body.length), sha256: "" },
  spf: { result: SpfResult.SPF_RESULT_PASS, domain: "bench.test", identity: "mailfrom", txnId: "0123456789abcdef01234567" } as never,
}));

const BATCH = 8;
async function one(): Promise<DmarcVerdict> {
  const req = codecs.dmarcCheck.decode(wire);
  const r = await check(req, "nats");
  const pv = toProtoVerdict(r.verdict, req.replyTo!.txnId);
  agg.add(r.verdict, { sourceIp: req.client!.ip });
  return pv;
}
async function round(n: number): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i += BATCH) {
    const vs = await Promise.all(Array.from({ length: BATCH }, one));
    encodeDmarcVerdicts({ verdicts: vs });
  }
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}
void (async () => {
  const v = await one();
  console.log(JSON.stringify(v).slice(0, 400));
  await round(20000);
  const rs: number[] = [];
  for (let i = 0; i < 7; i++) rs.push(await round(20000));
  rs.sort((a, b) => a - b);
  console.log(`us CPU per check: median ${rs[3]!.toFixed(1)} (min ${rs[0]!.toFixed(1)} max ${rs[6]!.toFixed(1)})`);
  await agg.close();
})();
