/**
 * `pnpm bench:events` (bench/events.cjs runs this from source): events per
 * second from Outcomes.Record to an Events.Subscribe stream (ordered and
 * durable) and to a webhook receiver. delivery-events runs as its own process
 * (as deployed) against a real nats-server; this process drives Record calls,
 * subscribes and receives the webhooks. Not a jest test.
 *
 * BENCH_EVENTS (default 5000), BENCH_CONCURRENCY (Record calls in flight,
 * default 64), BENCH_WEBHOOK_CONCURRENCY (endpoint max_concurrency, default 16).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Event, EventsClient, OutcomesClient, SubscribeRequest } from "@postern/proto";
import { unaryCall } from "@postern/service-kit";
import { freePort, startNats } from "@postern/testing";
import { newSecret, startReceiver } from "./webhook-receiver";

export interface BenchResult {
  label: string;
  events: number;
  seconds: number;
  latencies: number[];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

export function formatResult(r: BenchResult): string {
  const rate = Math.round(r.events / r.seconds);
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const latency = sorted.length > 0 ? `  latency p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms` : "";
  return `${r.label.padEnd(46)} ${String(r.events).padStart(6)} events in ${r.seconds.toFixed(2).padStart(6)} s ${String(rate).padStart(7)} events/s${latency}`;
}

/** Collects `n` events from a stream, recording each one's delay since its `time`; resolves with the time of the last. */
function drain(client: EventsClient, request: Partial<SubscribeRequest>, n: number, latencies: number[]): { done: Promise<number>; cancel(): void } {
  const stream = client.subscribe(SubscribeRequest.fromPartial(request));
  const done = new Promise<number>((resolve, reject) => {
    stream.on("data", (event: Event) => {
      latencies.push(Date.now() - (event.time?.getTime() ?? Date.now()));
      if (latencies.length === n) resolve(performance.now());
    });
    stream.on("error", (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
  });
  return { done, cancel: () => stream.cancel() };
}

/** Starts delivery-events through the launcher in service mode; resolves once it logs that it is ready. */
function startService(launcher: string, configFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...process.execArgv, launcher, "--service"], {
    env: { ...process.env, POSTERN_CONFIG: configFile },
    // The child exits when its stdin closes, i.e. when this process ends in any way.
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`delivery-events did not start: ${output.slice(-2000)}`)), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes('"event":"delivery_events.ready"')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`delivery-events exited with ${code}: ${output.slice(-2000)}`));
    });
  });
}

async function record(outcomes: OutcomesClient, total: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const event = Event.fromPartial({ id: `bench-${i}`, name: "msg:delivery", time: new Date(), messageId: `m-${i % 1000}`, senderAddress: "a@example.org", deliveryDomain: "example.net", deliveryLocalPart: `u${i}` });
      await unaryCall(outcomes.record.bind(outcomes), { event, events: [] }, 10_000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export async function runEventsBench(opts: { launcher: string; env?: NodeJS.ProcessEnv; out?: (line: string) => void }): Promise<BenchResult[]> {
  const env = opts.env ?? process.env;
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const total = Number(env.BENCH_EVENTS ?? 5000);
  const concurrency = Number(env.BENCH_CONCURRENCY ?? 64);
  const webhookConcurrency = Number(env.BENCH_WEBHOOK_CONCURRENCY ?? 16);
  const nats = await startNats();
  const dir = mkdtempSync(join(tmpdir(), "postern-bench-"));
  const secret = newSecret();
  const webhookLatencies: number[] = [];
  let webhookDone: (at: number) => void = () => undefined;
  const webhookFinished = new Promise<number>((resolve) => (webhookDone = resolve));
  const receiver = await startReceiver(secret, (delivery) => {
    webhookLatencies.push(Date.now() - Date.parse(String(delivery.data.time)));
    if (webhookLatencies.length === total) webhookDone(performance.now());
    return 204;
  });
  const address = `127.0.0.1:${await freePort()}`;
  const config = {
    log: { level: "info" },
    nats: { servers: [nats.url] },
    delivery_events: {
      grpc: { listen: address },
      webhook_allow_hosts: ["127.0.0.1"],
      webhooks: [{ name: "bench", url: receiver.url, secret, max_concurrency: webhookConcurrency, max_pending: 4 * webhookConcurrency }],
    },
  };
  writeFileSync(join(dir, "postern.json"), JSON.stringify(config));
  let service: ChildProcess | undefined;
  const outcomes = new OutcomesClient(address, grpc.credentials.createInsecure());
  const events = new EventsClient(address, grpc.credentials.createInsecure());
  try {
    service = await startService(opts.launcher, join(dir, "postern.json"));
    out(`bench:events: ${total} events, ${concurrency} Outcomes.Record calls in flight; delivery-events in its own process; ${nats.version} (${nats.via}), EVENTS on file storage; webhook max_concurrency ${webhookConcurrency}`);
    const ordered: number[] = [];
    const durable: number[] = [];
    const orderedSub = drain(events, { names: ["msg:>"] }, total, ordered);
    const durableSub = drain(events, { names: ["msg:>"], durableName: "bench" }, total, durable);
    await new Promise((resolve) => setTimeout(resolve, 500)); // both consumers exist before the first event

    const start = performance.now();
    await record(outcomes, total, concurrency);
    const recorded = performance.now();
    const [orderedAt, durableAt, webhookAt] = await Promise.all([orderedSub.done, durableSub.done, webhookFinished]);
    orderedSub.cancel();
    durableSub.cancel();

    const seconds = (at: number): number => (at - start) / 1000;
    const results: BenchResult[] = [
      { label: "Outcomes.Record (stored in JetStream EVENTS)", events: total, seconds: seconds(recorded), latencies: [] },
      { label: "  -> gRPC subscriber (Events.Subscribe)", events: total, seconds: seconds(orderedAt), latencies: ordered },
      { label: "  -> gRPC durable subscriber (acked on write)", events: total, seconds: seconds(durableAt), latencies: durable },
      { label: "  -> webhook receiver (signed POST, verified)", events: total, seconds: seconds(webhookAt), latencies: webhookLatencies },
    ];
    for (const r of results) out(formatResult(r));
    out("(each rate counts from the first Record call to the last event arriving; latency: event time to arrival)");
    if (receiver.rejected > 0) out(`warning: ${receiver.rejected} webhook requests failed verification`);
    return results;
  } finally {
    outcomes.close();
    events.close();
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service?.once("exit", resolve));
      service.kill("SIGTERM");
      await exited;
    }
    await receiver.close();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
