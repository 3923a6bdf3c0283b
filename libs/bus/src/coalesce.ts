/**
 * One socket write per event-loop turn instead of one per callback.
 *
 * nats.js buffers outgoing protocol data and writes it in a microtask after
 * the first publish of a callback. A server like the edge publishes from many
 * socket callbacks in one loop turn (a MAIL record here, a connection event
 * there, twenty SMTP sessions at once), so each publish became its own write
 * system call, and nats-server its own read: under pnpm bench:edge that was
 * half of nats-server's CPU per message. Deferring the flush to setImmediate
 * (after the poll phase that ran all those callbacks) sends them together.
 * The cost is at most one loop turn of latency.
 *
 * Kept as nats.js had it: a buffer past its pending limit is written at once
 * (memory stays bounded), and close() writes what is pending first.
 *
 * This reaches into nats.js internals (ProtocolHandler.flushPending, outbound,
 * pendingLimit, close; checked against @nats-io/nats-core 3.x). When they are
 * not there, it changes nothing and says so.
 */
import { type NatsConnection } from "@nats-io/transport-node";

interface Protocol {
  flushPending(): void;
  close(err?: Error): Promise<void>;
  outbound: { size(): number };
  pendingLimit: number;
}

function protocolOf(nc: NatsConnection): Protocol | undefined {
  const p = (nc as unknown as { protocol?: Partial<Protocol> }).protocol;
  if (p === undefined || typeof p.flushPending !== "function" || typeof p.close !== "function") return undefined;
  if (typeof p.outbound?.size !== "function" || typeof p.pendingLimit !== "number") return undefined;
  return p as Protocol;
}

/** Defers nats.js's flush of buffered output to setImmediate. Returns false when the internals are not as expected. */
export function coalesceWrites(nc: NatsConnection): boolean {
  const proto = protocolOf(nc);
  if (proto === undefined) return false;
  const flushNow = proto.flushPending.bind(proto);
  const close = proto.close.bind(proto);
  let scheduled: NodeJS.Immediate | undefined;
  const flushScheduled = (): void => {
    scheduled = undefined;
    flushNow();
  };
  proto.flushPending = () => {
    if (proto.outbound.size() >= proto.pendingLimit) {
      clearImmediate(scheduled);
      scheduled = undefined;
      flushNow();
      return;
    }
    scheduled ??= setImmediate(flushScheduled);
  };
  proto.close = (err?: Error) => {
    // also what was published in this very callback: its microtask flush has not run yet
    clearImmediate(scheduled);
    flushScheduled();
    return close(err);
  };
  return true;
}
