// The whole Postern inbound path for `pnpm bench` (bench/pipeline.mjs), every service its own
// process as deployed: the edge (PROXY off, a worker per core) asks the spf service at RCPT
// and the dmarc service at end of DATA, both resolving through the bench's DNS server; it
// publishes the MAIL record to JetStream and waits for the PubAck before 250; dane-outbound
// delivers to an smtp-sink and reports every outcome to delivery-events (EVENTS stream).
import { join } from "node:path";
import { waitPort } from "../edge/postfix.mjs";
import { processTree, startService } from "./procs.mjs";
import { SENDER_DOMAIN } from "./dns.mjs";

/**
 * Starts the services against a running nats-server and DNS server. `deliverTo` is the
 * smtp-sink port dane-outbound delivers to. Returns { port, services: [{ name, pids() }], stop() }.
 */
// BENCH_CALLBACK_MODE=stream|batch: the workers' callback.mode (verdict streams or batch calls, ADR 0006).
const callbackMode = process.env.BENCH_CALLBACK_MODE ? { callback: { mode: process.env.BENCH_CALLBACK_MODE } } : {};

export async function startPostern(work, { natsUrl, natsPid, dnsServer, deliverTo, freePort, edgeWorkers = "auto", outboundConcurrency = 128 }) {
  const nats = { servers: [natsUrl] };
  const log = { level: process.env.BENCH_LOG_LEVEL ?? "info" };
  const dns = { servers: [dnsServer] };
  const started = [];
  const services = [{ name: "nats-server", pids: () => (natsPid ? [natsPid] : []) }];
  const add = (svc) => {
    started.push(svc);
    services.push({ name: svc.name, pids: () => processTree(svc.pid) });
    return svc;
  };
  try {
    const eventsPort = await freePort();
    add(
      await startService(work, "delivery-events", "delivery-events", {
        log,
        nats,
        delivery_events: { grpc: { listen: `127.0.0.1:${eventsPort}` }, http: { port: 0 } },
      }, { readyLine: "delivery-events ready" }),
    );
    add(
      await startService(work, "spf", "spf", {
        log,
        nats,
        spf: { grpc: { listen: "127.0.0.1:0" }, http: { port: 0 }, dns, receiver: "edge.bench.test", ...callbackMode },
      }, { readyLine: "spf ready" }),
    );
    add(
      await startService(work, "dmarc", "dmarc", {
        log,
        nats,
        dmarc: { grpc: { listen: "127.0.0.1:0" }, http: { port: 0 }, dns, authserv_id: "edge.bench.test", ...callbackMode },
      }, { readyLine: "dmarc ready" }),
    );
    add(
      await startService(work, "dane-outbound", "dane-outbound", {
        log,
        nats,
        dane_outbound: {
          http: { port: 0 },
          helo_name: "outbound.bench.test",
          routes: { "*": `smtp:127.0.0.1:${deliverTo}` },
          delivery_events: { address: `127.0.0.1:${eventsPort}` },
          concurrency: outboundConcurrency,
          max_connections_per_host: 20,
          max_parallel_per_domain: outboundConcurrency,
        },
      }, { readyLine: "consuming MAIL" }),
    );
    const port = await freePort();
    add(
      await startService(work, "edge", "edge", {
        log,
        nats,
        edge: {
          smtp_listen: [`127.0.0.1:${port}`],
          grpc: { listen: "127.0.0.1:0" },
          http: { port: 0 },
          hostname: "edge.bench.test",
          local_domains: [SENDER_DOMAIN],
          // SPF applies to every client outside relay_from_hosts; the load comes from 127.0.0.1
          relay_from_hosts: [],
          spf_enable: true,
          spf_check_at: "rcpt",
          dmarc: { enable: true },
          ...(edgeWorkers === 1 ? {} : { workers: edgeWorkers }),
        },
      }, { ready: () => waitPort(port, 60_000) }),
    );
    return {
      port,
      services,
      logs: Object.fromEntries(started.map((s) => [s.name, s.logFile])),
      alive: () => started.every((s) => s.alive),
      async stop() {
        for (const s of [...started].reverse()) await s.stop();
      },
    };
  } catch (err) {
    for (const s of [...started].reverse()) await s.stop().catch(() => undefined);
    throw new Error(`starting Postern: ${err.message}; logs in ${join(work)}`);
  }
}
