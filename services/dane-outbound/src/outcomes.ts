import os from "node:os";
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

/** Outcomes.Record over gRPC with a deadline; any failure becomes ReportError. */
export function outcomesRecorder(client: OutcomesClient, deadlineMs: number): RecordFn {
  return async (event) => {
    try {
      await unaryCall(client.record.bind(client), { event }, deadlineMs);
    } catch (err) {
      throw new ReportError(event.name, err instanceof Error ? err.message : String(err), { cause: err });
    }
  };
}
