import { consumerNames, streamNames, subjects, type Bus } from "@postern/bus";
import { jetStreamApiCode } from "./errors";

export type Consumer = Awaited<ReturnType<Bus["js"]["consumers"]["get"]>>;
export type JsMsg = NonNullable<Awaited<ReturnType<Consumer["next"]>>>;
type Messages = Awaited<ReturnType<Consumer["consume"]>>;

const nanos = (ms: number): number => ms * 1_000_000;

const CONSUMER_NOT_FOUND = 10014;

function isNotFound(err: unknown): boolean {
  return jetStreamApiCode(err) === CONSUMER_NOT_FOUND || (err instanceof Error && /consumer not found/i.test(err.message));
}

/** Creates the durable pull consumer `outbound` on MAIL, or updates the settings we own. */
export async function ensureOutboundConsumer(bus: Bus, opts: { ackWaitSeconds: number; maxAckPending: number }): Promise<Consumer> {
  const stream = streamNames.mail;
  const name = consumerNames.outbound;
  const managed = { ack_wait: nanos(opts.ackWaitSeconds * 1000), max_ack_pending: opts.maxAckPending, max_deliver: -1 };
  let exists = true;
  try {
    await bus.jsm.consumers.info(stream, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    exists = false;
  }
  if (exists) {
    await bus.jsm.consumers.update(stream, name, managed);
  } else {
    try {
      await bus.jsm.consumers.add(stream, {
        durable_name: name,
        ack_policy: "explicit",
        deliver_policy: "all",
        filter_subject: subjects.mailQueued,
        ...managed,
      });
    } catch (err) {
      // Another instance created it first.
      try {
        await bus.jsm.consumers.update(stream, name, managed);
      } catch {
        throw err;
      }
    }
  }
  return bus.js.consumers.get(stream, name);
}

export interface Runner {
  /** True while a pull subscription is active. */
  ready(): boolean;
  inFlight(): number;
  /** Stops pulling (buffered messages are nak'ed for another instance), then waits up to graceMs for in-flight work. */
  stop(graceMs: number): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/** Pulls with at most `concurrency` messages being handled at once; restarts the pull after errors. */
export function runConsumer(
  consumer: Consumer,
  opts: { concurrency: number; handle: (m: JsMsg) => Promise<void>; onError: (err: unknown) => void },
): Runner {
  const running = new Set<Promise<void>>();
  let messages: Messages | undefined;
  let stopping = false;

  const pullLoop = async (): Promise<void> => {
    while (!stopping) {
      try {
        messages = await consumer.consume({ max_messages: opts.concurrency });
        for await (const m of messages) {
          while (running.size >= opts.concurrency && !stopping) await Promise.race(running);
          if (stopping) {
            m.nak();
            continue;
          }
          const p: Promise<void> = opts
            .handle(m)
            .catch(opts.onError)
            .finally(() => running.delete(p));
          running.add(p);
        }
      } catch (err) {
        opts.onError(err);
      }
      messages = undefined;
      if (!stopping) await sleep(1000);
    }
  };
  const loop = pullLoop();

  return {
    ready: () => messages !== undefined && !stopping,
    inFlight: () => running.size,
    async stop(graceMs) {
      stopping = true;
      messages?.stop();
      await Promise.race([loop, sleep(graceMs)]);
      await Promise.race([Promise.all(running), sleep(graceMs)]);
    },
  };
}
