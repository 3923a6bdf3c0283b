// pnpm bench:outbound — issue 9's delivery benchmark, from the TypeScript sources:
//   node --conditions=@postern/source -r ./bench/ts-register.cjs bench/outbound.mjs
//
// Delivery rate to Postfix's smtp-sink on loopback, 20 connections at most, 1 KB messages,
// in the same run and interleaved round by round:
//   - a reference Postfix relaying to the sink (smtp:[127.0.0.1]:sink): N messages are
//     injected with smtp-source while its smtp transport is deferred (defer_transports),
//     then released (postfix reload + postqueue -f); timed from the release until its log
//     shows N status=sent. default_destination_concurrency_limit = 20, its connection cache
//     on, as shipped.
//   - dane-outbound (its own process) delivering MAIL records to the sink over at most 20
//     connections (max_connections_per_host), reporting every outcome to a real
//     delivery-events process (EVENTS in JetStream): N MailRecords are published to MAIL
//     and timed from the first publish until N msg:complete events are stored.
// Prints msgs/s per target (median of the rounds) and the ratio. Needs the Debian package
// postfix and root for the reference Postfix (bench/edge/postfix.mjs, shared with bench:edge).
//
// Options (env): BENCH_MESSAGES (per run, default 5000), BENCH_ROUNDS (default 3),
// BENCH_CONNECTIONS (20), BENCH_SIZE (1024), BENCH_CONCURRENCY (dane-outbound messages in
// flight per instance, default 128), BENCH_INSTANCES (dane-outbound processes sharing the
// consumer and the connection budget, default 2: one per core, as Postfix runs one smtp
// process per connection), BENCH_KEEP=1 (keep the work dir with logs).
import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postfixToolsMissing, referencePostfixUnavailable, runSource, sleep, startReferencePostfix, startSink, tools } from "./edge/postfix.mjs";
import { cpuSeconds, startService as startServiceProcess, waitFor } from "./pipeline/procs.mjs";

const startService = (work, name, service, config, readyLine) => startServiceProcess(work, name, service, config, { readyLine });

const require = createRequire(new URL("../services/dane-outbound/package.json", import.meta.url));
const { freePort, startNats } = require("@postern/testing");
const { codecs, connectBus, ensureTopology, natsConfigSchema, subjects } = require("@postern/bus");
const { MailRecord } = require("@postern/proto");
const { pino } = require("pino");

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? "5000");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "3");
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? "20");
const SIZE = Number(process.env.BENCH_SIZE ?? "1024");
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? "128");
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? "2");
const GOAL = 1;

const fmt = (n, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The reference Postfix turned into a relay to the sink; deliveries held until release(). */
async function startRelayPostfix(dir, sinkPort) {
  const port = await freePort();
  const pf = await startReferencePostfix(dir, port);
  const etc = join(dir, "etc");
  const postconf = (...kv) => execFileSync(join(tools.postfix, "../postconf"), ["-c", etc, "-e", ...kv]);
  // bench/edge's reference delivers to discard: and has no smtp client service.
  appendFileSync(join(etc, "master.cf"), "smtp             unix  -       -      n      -      -       smtp\n");
  postconf(
    `default_transport = smtp:[127.0.0.1]:${sinkPort}`,
    `relay_transport = smtp:[127.0.0.1]:${sinkPort}`,
    `default_destination_concurrency_limit = ${CONNECTIONS}`,
    "smtp_tls_security_level = none",
    "smtp_dns_support_level = disabled",
    "defer_transports = smtp",
  );
  const ctl = (...args) => execFileSync(tools.postfix, ["-c", etc, ...args], { stdio: "ignore", env: { ...process.env, MAIL_CONFIG: etc } });
  ctl("reload");
  const maillog = join(dir, "maillog");
  const sent = () => (existsSync(maillog) ? readFileSync(maillog, "utf8").split("status=sent").length - 1 : 0);
  return {
    port,
    version: pf.version,
    sent,
    async hold() {
      postconf("defer_transports = smtp");
      ctl("reload");
      await sleep(500);
    },
    /** Lifts the hold; resolves when the flush is requested (the timed part starts there). */
    async release() {
      postconf("defer_transports =");
      ctl("reload");
      // A flush sent while qmgr restarts is lost (then nothing moves until queue_run_delay): give it a moment.
      await sleep(1000);
      this.flush();
    },
    flush() {
      execFileSync(join(tools.postfix, "../postqueue"), ["-c", etc, "-f"], { stdio: "ignore" });
    },
    stop: () => pf.stop(),
  };
}

function bodyOf(i) {
  const head = `From: sender@bench.test\r\nTo: rcpt@sink.test\r\nSubject: bench ${i}\r\nMessage-ID: <${i}@bench.test>\r\n\r\n`;
  return Buffer.from(head + "x".repeat(Math.max(0, SIZE - head.length - 2)) + "\r\n");
}

async function main() {
  const missing = postfixToolsMissing();
  if (missing !== undefined) throw new Error(missing);
  const noPostfix = referencePostfixUnavailable();
  const work = mkdtempSync(join(tmpdir(), "postern-bench-outbound-"));
  chmodSync(work, 0o755); // Postfix's daemons run as the postfix user and must reach their queue in here
  const stops = [];
  try {
    const nats = await startNats();
    stops.push(() => nats.stop());
    const natsConfig = natsConfigSchema.parse({ servers: [nats.url] });
    const bus = await connectBus(natsConfig, { name: "bench-outbound", logger: pino({ level: "silent" }) });
    stops.push(() => bus.drain());
    await ensureTopology(bus, natsConfig.jetstream);

    const sinkPort = await freePort();
    const sink = await startSink(sinkPort, join(work, "smtp-sink.log"));
    stops.push(() => sink.stop());

    const eventsPort = await freePort();
    const events = await startService(
      work,
      "delivery-events",
      "delivery-events",
      { log: { level: "info" }, nats: { servers: [nats.url] }, delivery_events: { grpc: { listen: `127.0.0.1:${eventsPort}` }, http: { port: 0 } } },
      "delivery-events ready",
    );
    stops.push(() => events.stop());
    // Instances share the MAIL consumer (the way dane-outbound scales) and the connection budget.
    const outbounds = [];
    for (let i = 0; i < INSTANCES; i++) {
      const o = await startService(
        work,
        `dane-outbound-${i}`,
        "dane-outbound",
        {
          // info: one delivery line per message, as Postfix writes one status=sent line.
          log: { level: "info" },
          nats: { servers: [nats.url] },
          dane_outbound: {
            http: { port: 0 },
            helo_name: "outbound.bench.test",
            routes: { "*": `smtp:127.0.0.1:${sinkPort}` },
            delivery_events: { address: `127.0.0.1:${eventsPort}` },
            concurrency: CONCURRENCY,
            max_connections_per_host: Math.max(1, Math.floor(CONNECTIONS / INSTANCES)),
            max_parallel_per_domain: CONCURRENCY,
          },
        },
        "consuming MAIL",
      );
      stops.push(() => o.stop());
      outbounds.push(o);
    }

    let completed = 0;
    const sub = bus.nc.subscribe("postern.event.msg.complete", { callback: () => (completed += 1) });
    stops.push(() => sub.unsubscribe());

    let postfix;
    if (noPostfix === undefined) {
      postfix = await startRelayPostfix(join(work, "postfix"), sinkPort);
      stops.push(() => postfix.stop());
    } else console.log(`reference Postfix skipped: ${noPostfix}`);

    let seq = 0;
    const cpu = {};
    let natsPid = 0;
    try {
      natsPid = Number(/pid=(\d+)/.exec(execFileSync("ss", ["-ltnpH", `sport = :${nats.port}`], { encoding: "utf8" }))?.[1] ?? 0);
    } catch {
      // no ss: no nats-server figure
    }
    const runOutbound = async () => {
      const target = completed + MESSAGES;
      const t0 = performance.now();
      const pubs = [];
      for (let i = 0; i < MESSAGES; i++) {
        const id = `bench-${seq++}`;
        const body = bodyOf(id);
        const record = MailRecord.fromPartial({
          messageId: id,
          receivedAt: new Date(),
          sender: "sender@bench.test",
          recipients: [{ address: "rcpt@sink.test", index: 0, notify: [], orcpt: "" }],
          body: { location: { $case: "inline", value: body }, size: String(body.length), sha256: "" },
        });
        pubs.push(bus.js.publish(subjects.mailQueued, codecs.mail.encode(record), { msgID: id }));
        if (pubs.length >= 512) await Promise.all(pubs.splice(0));
      }
      await Promise.all(pubs);
      await waitFor("dane-outbound to complete the run", () => completed >= target);
      const seconds = (performance.now() - t0) / 1000;
      if (process.env.BENCH_CPU === "1") {
        const now = { outbound: cpuSeconds(outbounds.map((o) => o.pid)), events: cpuSeconds([events.pid]), nats: cpuSeconds([natsPid]), bench: process.cpuUsage().user / 1e6 };
        console.log(`  cpu s: ${Object.entries(now).map(([k, v]) => `${k} ${(v - (cpu[k] ?? 0)).toFixed(2)}`).join(", ")}`);
        Object.assign(cpu, now);
      }
      return { seconds, perSecond: MESSAGES / seconds };
    };
    const runPostfix = async () => {
      await postfix.hold();
      const before = postfix.sent();
      await runSource(postfix.port, { messages: MESSAGES, sessions: 20, size: SIZE });
      await postfix.release();
      const t0 = performance.now();
      let lastFlush = t0;
      let lastSent = before;
      await waitFor("Postfix to relay the run", () => {
        const n = postfix.sent();
        // Deferred mail waits for the next queue run unless flushed: flush again if nothing moves.
        if (n === lastSent && performance.now() - lastFlush > 2000) {
          postfix.flush();
          lastFlush = performance.now();
        }
        lastSent = n;
        return n >= before + MESSAGES;
      });
      const seconds = (performance.now() - t0) / 1000;
      return { seconds, perSecond: MESSAGES / seconds };
    };

    // One warm-up run each (JIT, connection caches), not counted.
    await runOutbound();
    if (postfix) await runPostfix();
    const rates = { outbound: [], postfix: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      const o = await runOutbound();
      rates.outbound.push(o.perSecond);
      let line = `round ${round}: dane-outbound ${fmt(o.perSecond)} msgs/s (${o.seconds.toFixed(2)} s)`;
      if (postfix) {
        const p = await runPostfix();
        rates.postfix.push(p.perSecond);
        line += `, Postfix ${fmt(p.perSecond)} msgs/s (${p.seconds.toFixed(2)} s)`;
      }
      console.log(line);
    }
    const o = median(rates.outbound);
    console.log(`\n${MESSAGES} messages of ${SIZE} bytes per run, ${CONNECTIONS} connections, median of ${ROUNDS} rounds:`);
    console.log(`  dane-outbound x${INSTANCES} -> smtp-sink (outcomes to delivery-events): ${fmt(o)} msgs/s`);
    if (postfix) {
      const p = median(rates.postfix);
      console.log(`  Postfix ${postfix.version} -> smtp-sink:                 ${fmt(p)} msgs/s`);
      const ratio = o / p;
      console.log(`  ratio ${ratio.toFixed(2)}x (goal >= ${GOAL}x): ${ratio >= GOAL ? "met" : "NOT met"}`);
      process.exitCode = ratio >= GOAL ? 0 : 1;
    }
  } finally {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        console.error(`stop failed: ${err.message}`);
      }
    }
    if (process.env.BENCH_KEEP === "1") console.log(`work dir kept: ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
