/**
 * Test support for delivery-events (excluded from the build): instances
 * in-process through runService against a real nats-server, gRPC clients, and
 * a collector for Events.Subscribe streams.
 */
import * as grpc from "@grpc/grpc-js";
import { Event, EventsClient, OutcomesClient, type RecordResponse, SubscribeRequest } from "@postern/proto";
import { runService, type ServiceContext, unaryCall } from "@postern/service-kit";
import { type Backend, freePort, LogSink } from "@postern/testing";
import { configSchema, type DeliveryEventsConfig } from "../config";
import { startDeliveryEvents } from "../service";

export interface Instance {
  ctx: ServiceContext<DeliveryEventsConfig>;
  address: string;
  logs: LogSink;
  outcomes: OutcomesClient;
  events: EventsClient;
  record(event: Partial<Event>): Promise<RecordResponse>;
  stop(): Promise<void>;
}

export async function startInstance(nats: Backend, section: Record<string, unknown> = {}): Promise<Instance> {
  const address = `127.0.0.1:${await freePort()}`;
  const logs = new LogSink();
  const ctx = await runService({
    name: "delivery-events",
    schema: configSchema,
    config: {
      log: { level: "info" },
      nats: { servers: [nats.url], reconnect_wait_ms: 200, jetstream: { events: { storage: "memory" } } },
      delivery_events: { grpc: { listen: address }, dead_letter: { storage: "memory" }, ...section },
    },
    env: {},
    installSignalHandlers: false,
    exitOnError: false,
    logDestination: logs,
    start: startDeliveryEvents,
  });
  const outcomes = new OutcomesClient(address, grpc.credentials.createInsecure());
  const events = new EventsClient(address, grpc.credentials.createInsecure());
  return {
    ctx,
    address,
    logs,
    outcomes,
    events,
    record: (event) => unaryCall(outcomes.record.bind(outcomes), { event: Event.fromPartial(event), events: [] }, 15_000),
    stop: async () => {
      outcomes.close();
      events.close();
      await ctx.shutdown.trigger("test finished");
    },
  };
}

export interface Collector {
  events: Event[];
  /** Resolves once `n` events have arrived (rejects after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<Event[]>;
  /** Resolves with the stream's end status (CANCELLED after cancel()). */
  ended: Promise<grpc.StatusObject | grpc.ServiceError>;
  cancel(): void;
  pause(): void;
  resume(): void;
}

/** Opens Events.Subscribe and collects what arrives; `stopAfter` cancels the stream right after that many events. */
export function collect(client: EventsClient, request: Partial<SubscribeRequest>, opts: { stopAfter?: number } = {}): Collector {
  const stream = client.subscribe(SubscribeRequest.fromPartial(request));
  const events: Event[] = [];
  const waiters: Array<() => void> = [];
  stream.on("data", (event: Event) => {
    if (opts.stopAfter !== undefined && events.length >= opts.stopAfter) return;
    events.push(event);
    if (opts.stopAfter !== undefined && events.length === opts.stopAfter) stream.cancel();
    for (const w of waiters.splice(0)) w();
  });
  const ended = new Promise<grpc.StatusObject | grpc.ServiceError>((resolve) => {
    stream.on("error", resolve);
    stream.on("status", resolve);
  });
  return {
    events,
    ended,
    waitFor: (n, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${events.length}/${n} events: ${events.map((e) => `${e.sequence}:${e.name}`).join(" ")}`)), timeoutMs);
        const check = (): void => {
          if (events.length >= n) {
            clearTimeout(timer);
            resolve(events.slice(0, n));
          } else waiters.push(check);
        };
        check();
      }),
    cancel: () => stream.cancel(),
    pause: () => stream.pause(),
    resume: () => stream.resume(),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true (rejects with `what` after timeoutMs). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
