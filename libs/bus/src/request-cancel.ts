/**
 * No Error object per finished NATS request.
 *
 * nats.js (nats-core 3.x, RequestOne) ends every request, answered or timed out, with
 * cancel(), which rejects the request's promise with `new RequestError("cancelled")`.
 * The promise has settled by then, so nobody sees that error, but V8 still builds it
 * with its stack trace: under pnpm bench:pipeline that was about 5 % of delivery-events'
 * CPU (a JetStream publish per event is a request) and 2 % of dane-outbound's (KV writes).
 * cancel() without an error therefore gets one shared RequestError instead. The only
 * callers that pass none are the two that run after the promise settled (the reply
 * handler, and the time-out handler after Promise.race([timer, reply]) rejected).
 *
 * This reaches into nats.js internals (RequestOne from @nats-io/nats-core/internal, as
 * @nats-io/transport-node loads it). When they are not there, it changes nothing and
 * returns false. Process-wide; opt-in per service (lightRequestCancel()).
 */
import { createRequire } from "node:module";

interface RequestOneProto {
  cancel(this: unknown, err?: Error): void;
}

let applied: boolean | undefined;

/** Makes RequestOne.cancel() reuse one error when called without one. Returns whether it applies. */
export function lightRequestCancel(): boolean {
  if (applied !== undefined) return applied;
  applied = false;
  let internal: { RequestOne?: { prototype?: Partial<RequestOneProto> }; RequestError?: new (message: string) => Error };
  try {
    // The nats-core instance that @nats-io/transport-node (and so our connection) uses.
    internal = createRequire(require.resolve("@nats-io/transport-node"))("@nats-io/nats-core/internal") as typeof internal;
  } catch {
    return false;
  }
  const proto = internal.RequestOne?.prototype;
  const RequestError = internal.RequestError;
  if (proto === undefined || typeof proto.cancel !== "function" || typeof RequestError !== "function") return false;
  const cancel = proto.cancel;
  const cancelled = new RequestError("cancelled");
  proto.cancel = function (this: unknown, err?: Error): void {
    cancel.call(this, err ?? cancelled);
  };
  applied = true;
  return true;
}
