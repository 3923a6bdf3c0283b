/**
 * One webhook endpoint's worker: a durable consumer on EVENTS (shared by every
 * instance, so each event is sent by one of them) and one on its queue in
 * EVENTS_REPLAY. Each event is POSTed signed; a failure is retried through
 * nak(delay) with backoff and jitter until retry_for_seconds after the event
 * was stored, then the event goes to EVENTS_DLQ. Up to max_concurrency
 * requests run at once; the events of one message go one after another.
 */
import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { type Bus, codecs, streamNames, subjects } from "@postern/bus";
import { Event } from "@postern/proto";
import type { WebhookConfig } from "../config";
import { type DeliveryEventsMetrics, logEvents } from "../diagnostics";
import { type EventFilter, matchesFilter } from "../filters";
import { ensureWorkerConsumer } from "../jetstream";
import { dlqHeaders, dlqSubjects, durableNames, replayStream } from "../names";
import type { AllowList } from "./address-policy";
import { publishDeadLetter } from "./dead-letter";
import { WebhookClient } from "./http-client";
import { KeyedQueue, MessageOrder, Semaphore } from "./message-order";
import { decideRetry, type RetryPolicy } from "./retry-policy";
import { parseSecret, signedHeaders } from "./signing";

export interface EndpointDeps {
  bus: Bus;
  logger: Logger;
  metrics: DeliveryEventsMetrics;
  allow: AllowList;
  now?: () => number;
  random?: () => number;
}

type Source = "events" | "replay";

/** The JSON body: Standard Webhooks' { type, timestamp, data } with the event in proto3 JSON form. */
export function webhookBody(event: Event): string {
  return JSON.stringify({ type: event.name, timestamp: (event.time ?? new Date(0)).toISOString(), data: Event.toJSON(event) });
}

export class WebhookEndpoint {
  private readonly client: WebhookClient;
  private readonly key: Buffer;
  private readonly filter: EventFilter;
  private readonly policy: RetryPolicy;
  private readonly order: MessageOrder;
  private readonly lanes = new KeyedQueue();
  private readonly slots: Semaphore;
  private readonly inflight = new Set<Promise<void>>();
  private readonly iterators: ConsumerMessages[] = [];
  private loops: Array<Promise<void>> = [];
  private stopping = false;
  private readonly now: () => number;
  private readonly ackWaitMs: number;

  constructor(
    private readonly config: WebhookConfig,
    private readonly deps: EndpointDeps,
  ) {
    this.key = parseSecret(config.secret) as Buffer; // validated by the configuration schema
    this.filter = { names: config.events, senderDomains: config.sender_domains, recipientDomains: config.recipient_domains, messageId: "" };
    this.policy = { initialDelayMs: config.retry_initial_ms, maxDelayMs: config.retry_max_ms, retryForMs: config.retry_for_seconds * 1000 };
    this.ackWaitMs = Math.max(30_000, config.timeout_ms * 3);
    this.order = new MessageOrder(this.ackWaitMs);
    this.slots = new Semaphore(config.max_concurrency);
    this.client = new WebhookClient(config.url, { timeoutMs: config.timeout_ms, maxSockets: config.max_concurrency, allow: deps.allow });
    this.now = deps.now ?? Date.now;
  }

  get name(): string {
    return this.config.name;
  }

  async start(): Promise<void> {
    const { bus } = this.deps;
    const common = { ackWaitMs: this.ackWaitMs, maxAckPending: this.config.max_pending, description: `postern webhook ${this.config.name}` };
    const eventsConsumer = durableNames.webhook(this.config.name);
    const replayConsumer = durableNames.webhookReplay(this.config.name);
    await ensureWorkerConsumer(bus, { ...common, stream: streamNames.events, name: eventsConsumer, filterSubject: subjects.eventsAll, deliver: "new" });
    await ensureWorkerConsumer(bus, { ...common, stream: replayStream, name: replayConsumer, filterSubject: dlqSubjects.replay(this.config.name), deliver: "all" });
    const batch = Math.min(this.config.max_pending, Math.max(this.config.max_concurrency * 2, 16));
    for (const [stream, consumer, source] of [[streamNames.events, eventsConsumer, "events"], [replayStream, replayConsumer, "replay"]] as const) {
      const messages = await (await bus.js.consumers.get(stream, consumer)).consume({ max_messages: batch });
      this.iterators.push(messages);
      this.loops.push(
        this.run(messages, source).catch((err: unknown) => {
          if (!this.stopping) this.deps.logger.error({ err, event: logEvents.webhookWorkerFailed, endpoint: this.config.name }, "webhook worker stopped");
        }),
      );
    }
  }

  /** Stops taking events, hands back those fetched but not started (nak), waits for requests in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.iterators.map((it) => it.close()));
    await Promise.all(this.loops);
    await Promise.all([...this.inflight]);
    this.client.close();
  }

  private async run(messages: ConsumerMessages, source: Source): Promise<void> {
    for await (const msg of messages) {
      if (this.stopping) {
        msg.nak();
        continue;
      }
      const receivedAt = this.now();
      await this.slots.acquire();
      const task = this.handle(msg, source, receivedAt)
        .catch((err: unknown) => {
          this.deps.logger.warn({ err, endpoint: this.config.name, seq: msg.seq }, "webhook delivery failed unexpectedly");
          msg.nak(this.policy.initialDelayMs);
        })
        .finally(() => {
          this.slots.release();
          this.inflight.delete(task);
        });
      this.inflight.add(task);
    }
  }

  private async handle(msg: JsMsg, source: Source, receivedAt: number): Promise<void> {
    let event: Event;
    try {
      event = codecs.event.decode(msg.data);
    } catch (err) {
      this.deps.logger.warn({ err, event: logEvents.undecodable, endpoint: this.config.name, seq: msg.seq }, "undecodable event skipped");
      msg.term();
      return;
    }
    event.sequence = source === "events" ? String(msg.seq) : msg.headers?.get(dlqHeaders.sequence) || "0";
    if (!matchesFilter(this.filter, event)) {
      msg.ack();
      return;
    }
    const key = `${source}:${event.messageId || event.id}`;
    await this.lanes.run(key, () => this.attempt(msg, event, key, source, receivedAt));
  }

  private async attempt(msg: JsMsg, event: Event, key: string, source: Source, receivedAt: number): Promise<void> {
    const { metrics, logger } = this.deps;
    const endpoint = this.config.name;
    const started = this.now();
    const wait = this.order.waitMs(key, msg.seq, started);
    if (wait > 0) {
      metrics.webhookRequests.inc({ endpoint, result: "held" });
      this.order.deferred(key, msg.seq, started + wait);
      msg.nak(wait);
      return;
    }
    // Waited for a slot or behind an earlier event of its message: keep JetStream from redelivering it meanwhile.
    if (started - receivedAt > this.ackWaitMs / 3) msg.working();
    const body = webhookBody(event);
    const stopTimer = metrics.webhookSeconds.startTimer({ endpoint });
    const result = await this.client.post(body, { ...signedHeaders(this.key, event.id, Math.floor(started / 1000), body) });
    stopTimer();
    if (result.ok) {
      metrics.webhookRequests.inc({ endpoint, result: "delivered" });
      msg.ack();
      this.order.settled(key, msg.seq);
      return;
    }
    metrics.webhookRequests.inc({ endpoint, result: "failed" });
    const now = this.now();
    const attempts = msg.info.deliveryCount;
    const decision = decideRetry({ failures: attempts, storedAtMs: Math.floor(msg.info.timestampNanos / 1e6), nowMs: now }, this.policy, this.deps.random);
    const fields = { event: logEvents.webhookRetry, endpoint, event_id: event.id, seq: event.sequence, error: result.error, attempts };
    if (decision.kind === "retry") {
      logger[attempts === 1 ? "info" : "debug"]({ ...fields, delay_ms: decision.delayMs }, "webhook request failed; retrying");
      this.order.deferred(key, msg.seq, now + decision.delayMs);
      msg.nak(decision.delayMs);
      return;
    }
    await publishDeadLetter(this.deps.bus, {
      endpoint,
      data: msg.data,
      event,
      eventSequence: Number(event.sequence),
      attempts,
      lastError: result.error ?? "",
      msgId: `${endpoint}:${event.id}:${source}:${msg.seq}`,
    });
    metrics.webhookDeadLettered.inc({ endpoint });
    logger.warn({ ...fields, event: logEvents.webhookDeadLettered }, "webhook retries exhausted; event moved to EVENTS_DLQ");
    msg.ack();
    this.order.settled(key, msg.seq);
  }
}
