/**
 * A sink's worker: a durable consumer on EVENTS shared by every instance (each
 * event goes to one of them), events batched up to batch_size (a batch is
 * written at once when the consumer has nothing more pending, else after
 * flush_ms), each batch acknowledged once written. A failed write is retried
 * with backoff in place, so batches stay in order and nothing is skipped.
 */
import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { type Bus, codecs, streamNames, subjects } from "@postern/bus";
import type { Event } from "@postern/proto";
import type { SinkConfig } from "../config";
import { type DeliveryEventsMetrics, logEvents } from "../diagnostics";
import { type EventFilter, matchesFilter } from "../filters";
import { ensureWorkerConsumer } from "../jetstream";
import { durableNames } from "../names";
import { jitteredDelay, type RetryPolicy } from "../webhooks/retry-policy";

export interface SinkWriter {
  /** Stores the events (in order); throws when nothing or not everything was stored. */
  write(events: Event[]): Promise<void>;
  close(): Promise<void>;
}

export interface SinkWorkerDeps {
  bus: Bus;
  logger: Logger;
  metrics: DeliveryEventsMetrics;
}

const ACK_WAIT_MS = 60_000;
const RETRY: RetryPolicy = { initialDelayMs: 500, maxDelayMs: 20_000, retryForMs: Number.POSITIVE_INFINITY };

interface Pending {
  msg: JsMsg;
  event: Event;
}

export class SinkWorker {
  private readonly filter: EventFilter;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> = Promise.resolve();
  private chain: Promise<void> = Promise.resolve();
  private batch: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly config: SinkConfig,
    private readonly writer: SinkWriter,
    private readonly deps: SinkWorkerDeps,
  ) {
    this.filter = { names: config.events, senderDomains: config.sender_domains, recipientDomains: config.recipient_domains, messageId: "" };
  }

  get name(): string {
    return this.config.name;
  }

  async start(): Promise<void> {
    const consumer = durableNames.sink(this.config.name);
    await ensureWorkerConsumer(this.deps.bus, {
      stream: streamNames.events,
      name: consumer,
      filterSubject: subjects.eventsAll,
      ackWaitMs: ACK_WAIT_MS,
      maxAckPending: this.config.batch_size * 4,
      description: `postern ${this.config.type} sink ${this.config.name}`,
      deliver: this.config.start,
    });
    this.messages = await (await this.deps.bus.js.consumers.get(streamNames.events, consumer)).consume({ max_messages: this.config.batch_size * 2 });
    this.loop = this.run(this.messages).catch((err: unknown) => {
      if (!this.stopping.signal.aborted) this.deps.logger.error({ err, event: logEvents.sinkWorkerFailed, sink: this.config.name }, "sink worker stopped");
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.messages?.close();
    await this.loop;
    await this.chain;
    await this.writer.close();
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.stopping.signal.aborted) {
        msg.nak();
        continue;
      }
      let event: Event;
      try {
        event = codecs.event.decode(msg.data);
      } catch (err) {
        this.deps.logger.warn({ err, event: logEvents.undecodable, sink: this.config.name, seq: msg.seq }, "undecodable event skipped");
        msg.term();
        continue;
      }
      if (!matchesFilter(this.filter, event)) {
        this.deps.metrics.sinkEvents.inc({ sink: this.config.name, result: "skipped" });
        msg.ack();
        continue;
      }
      event.sequence = String(msg.seq);
      this.batch.push({ msg, event });
      if (this.batch.length >= this.config.batch_size || msg.info.pending === 0) await this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.config.flush_ms);
    }
    await this.flush();
  }

  /** Queues the current batch behind the previous ones; resolves when it is written (or handed back at shutdown). */
  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.batch;
    this.batch = [];
    if (batch.length > 0) this.chain = this.chain.then(() => this.write(batch));
    return this.chain;
  }

  private async write(batch: Pending[]): Promise<void> {
    const { logger, metrics } = this.deps;
    const sink = this.config.name;
    for (let attempt = 1; ; attempt++) {
      if (this.stopping.signal.aborted && attempt > 1) {
        for (const { msg } of batch) msg.nak();
        return;
      }
      try {
        await this.writer.write(batch.map((p) => p.event));
        for (const { msg } of batch) msg.ack();
        metrics.sinkEvents.inc({ sink, result: "written" }, batch.length);
        return;
      } catch (err) {
        metrics.sinkEvents.inc({ sink, result: "failed" }, batch.length);
        const delayMs = jitteredDelay(attempt, RETRY);
        logger.warn({ err, event: logEvents.sinkWriteFailed, sink, delay_ms: delayMs, events: batch.length }, "sink write failed; retrying");
        await sleep(delayMs, this.stopping.signal);
        for (const { msg } of batch) msg.working();
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
