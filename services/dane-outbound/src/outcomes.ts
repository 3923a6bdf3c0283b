import os from "node:os";
import * as grpc from "@grpc/grpc-js";
import { Event, type OutcomesClient } from "@postern/proto";
import { unaryCall } from "@postern/service-kit";
import { ReportError } from "./errors";
import { eventId } from "./event-ids";
import { tlsEventFields, tlsFailureFields } from "./tls-policy";
import { type HostDefer, type RcptResult, type Target } from "./types";

export const EventNames = {
  delivery: "msg:delivery",
  rcptDefer: "msg:rcpt:defer",
  failDelivery: "msg:fail:delivery",
  failInternal: "msg:fail:internal",
  complete: "msg:complete",
  hostDefer: "msg:host:defer",
  rcptHostDefer: "msg:rcpt:host:defer",
  dnsFail: "dns:fail",
} as const;

export interface EventContext {
  messageId: string;
  sender: string;
  attempt: number;
  routerName: string;
  transportName: string;
}

const HOST = os.hostname();

/** The event for one recipient's result, with the TPDA fields (Exim's $tpda_* / $event_* variables). */
export function outcomeEvent(ctx: EventContext, target: Target, result: RcptResult, extra: Record<string, string> = {}): Event {
  const name =
    result.status === "delivered"
      ? EventNames.delivery
      : result.status === "deferred"
        ? EventNames.rcptDefer
        : result.internal === true
          ? EventNames.failInternal
          : EventNames.failDelivery;
  return Event.fromPartial({
    id: eventId(ctx.messageId, target.pos, name, ctx.attempt),
    name,
    time: new Date(),
    messageId: ctx.messageId,
    deliveryIp: result.host?.ip ?? "",
    deliveryPort: result.host?.port ?? 0,
    deliveryFqdn: result.host?.name ?? "",
    deliveryLocalPart: target.localPart,
    deliveryDomain: target.domain,
    deliveryConfirmation: result.status === "delivered" ? result.confirmation : "",
    deferErrno: result.status === "delivered" ? 0 : result.errno,
    deferErrstr: result.status === "delivered" ? "" : result.errstr,
    routerName: ctx.routerName,
    transportName: ctx.transportName,
    senderAddress: ctx.sender,
    host: HOST,
    attributes: { attempt: String(ctx.attempt), recipient: target.address, ...tlsEventFields(result.tls), ...tlsFailureFields(result.tlsFailure), ...extra },
  });
}

/**
 * msg:host:defer (once per host and attempt: the host failed as a whole) or
 * msg:rcpt:host:defer (per recipient and host). `seq` tells apart several hosts of one attempt.
 */
export function hostDeferEvent(ctx: EventContext, d: HostDefer, seq: number, target?: Target): Event {
  const name = target ? EventNames.rcptHostDefer : EventNames.hostDefer;
  return Event.fromPartial({
    id: eventId(ctx.messageId, `${target ? target.pos : "host"}:${seq}:${d.host.ip}:${d.host.port}`, name, ctx.attempt),
    name,
    time: new Date(),
    messageId: ctx.messageId,
    deliveryIp: d.host.ip,
    deliveryPort: d.host.port,
    deliveryFqdn: d.host.name,
    deliveryLocalPart: target?.localPart ?? "",
    deliveryDomain: target?.domain ?? "",
    deferErrno: d.errno,
    deferErrstr: d.errstr,
    routerName: ctx.routerName,
    transportName: ctx.transportName,
    senderAddress: ctx.sender,
    host: HOST,
    attributes: { attempt: String(ctx.attempt), ...(target ? { recipient: target.address } : {}), ...tlsFailureFields(d.tlsFailure) },
  });
}

/** dane:fail or tls:fail:connect for a host whose DANE / TLS / OCSP check deferred it (once per host and attempt). */
export function tlsFailEvent(ctx: EventContext, d: HostDefer & { tlsFailure: NonNullable<HostDefer["tlsFailure"]> }, seq: number): Event {
  const name = d.tlsFailure.event;
  return Event.fromPartial({
    ...hostDeferEvent(ctx, d, seq),
    id: eventId(ctx.messageId, `host:${seq}:${d.host.ip}:${d.host.port}`, name, ctx.attempt),
    name,
  });
}

/** dns:fail: the routing lookup for a domain failed temporarily. */
export function dnsFailEvent(ctx: EventContext, domain: string, errstr: string): Event {
  return Event.fromPartial({
    id: eventId(ctx.messageId, `dns:${domain}`, EventNames.dnsFail, ctx.attempt),
    name: EventNames.dnsFail,
    time: new Date(),
    messageId: ctx.messageId,
    deliveryDomain: domain,
    deferErrstr: errstr,
    routerName: ctx.routerName,
    senderAddress: ctx.sender,
    host: HOST,
    attributes: { attempt: String(ctx.attempt) },
  });
}

/** msg:complete, once every recipient has a final outcome. */
export function completeEvent(messageId: string, sender: string, attempt: number): Event {
  return Event.fromPartial({
    id: eventId(messageId, "message", EventNames.complete, attempt),
    name: EventNames.complete,
    time: new Date(),
    messageId,
    senderAddress: sender,
    host: HOST,
    attributes: { attempt: String(attempt) },
  });
}

export type RecordFn = (event: Event) => Promise<void>;

/** Events sent in one Outcomes.Record call at most (delivery-events takes up to 1000). */
export const RECORD_BATCH = 256;
/** After delivery-events refused a batch (an older version), events go one per call for this long. */
const SINGLE_MODE_MS = 60_000;

interface Pending {
  event: Event;
  resolve: () => void;
  reject: (err: Error) => void;
}

const reportError = (event: Event, err: unknown): ReportError =>
  new ReportError(event.name, err instanceof Error ? err.message : String(err), { cause: err });

/**
 * Outcomes.Record over gRPC with a deadline; any failure becomes ReportError.
 *
 * The events recorded during one event-loop turn (those of one message, and those of
 * every other message that finished in the same turn) go out together in one call
 * (RecordRequest.events) once the turn's I/O callbacks have run: a gRPC call costs about
 * as much CPU as delivering the message, and a message has at least two events. Each
 * event still settles on its own, from its own result. A lone event, and every event
 * while delivery-events does not take batches (an older version refuses them), goes out
 * in a call of its own.
 */
export function outcomesRecorder(client: OutcomesClient, deadlineMs: number, now: () => number = Date.now): RecordFn {
  const call = client.record.bind(client);
  let queue: Pending[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let singleUntil = 0;

  const single = (p: Pending): void => {
    unaryCall(call, { event: p.event, events: [] }, deadlineMs).then(
      () => p.resolve(),
      (err: unknown) => p.reject(reportError(p.event, err)),
    );
  };
  const batch = (ps: Pending[]): void => {
    unaryCall(call, { event: undefined, events: ps.map((p) => p.event) }, deadlineMs).then(
      (res) => {
        if (res.results.length !== ps.length) {
          // A server that does not know `events` (it answered as for one event): one call each.
          singleUntil = now() + SINGLE_MODE_MS;
          ps.forEach(single);
          return;
        }
        ps.forEach((p, i) => {
          const r = res.results[i];
          if (r?.code === grpc.status.OK) p.resolve();
          else p.reject(new ReportError(p.event.name, r?.error || `status ${r?.code ?? "missing"}`));
        });
      },
      (err: unknown) => {
        if ((err as Partial<grpc.ServiceError>).code === grpc.status.INVALID_ARGUMENT) {
          // An older delivery-events reads only `event` and refuses the call as empty.
          singleUntil = now() + SINGLE_MODE_MS;
          ps.forEach(single);
          return;
        }
        for (const p of ps) p.reject(reportError(p.event, err));
      },
    );
  };
  const flush = (): void => {
    scheduled = undefined;
    const ps = queue;
    queue = [];
    if (ps.length === 1 || now() < singleUntil) ps.forEach(single);
    else if (ps.length > 1) batch(ps);
  };

  return (event) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ event, resolve, reject });
      if (queue.length >= RECORD_BATCH) {
        clearImmediate(scheduled);
        flush();
      } else {
        // setImmediate runs after the poll phase: every delivery that finished in this turn joins.
        scheduled ??= setImmediate(flush);
      }
    });
}
