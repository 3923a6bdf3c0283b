import { codecs, type ObjectStore } from "@postern/bus";
import { DsnRet, Event, type MailRecord } from "@postern/proto";
import { deliverGroup, groupByDomain, loadBody, pendingTargets, retryDelayMs, type GroupOutcome, type TransportFor } from "./attempt";
import { deliveryLogLine } from "./delivery-log";
import { logEvents, type OutboundMetrics } from "./diagnostics";
import { completeEvent, outcomeEvent, type RecordFn } from "./outcomes";
import { type Route } from "./routes";
import { isFinal, type DeliveryState, type StateStore } from "./state";
import { type RcptResult } from "./types";

/** What the consumer does with the JetStream message afterwards. */
export type Disposition =
  | { kind: "ack"; messageId: string }
  | { kind: "nak"; delayMs: number }
  | { kind: "term" }
  /** Leave it: another worker owns it (ack wait brings it back if not). */
  | { kind: "leave" };

export interface HandlerDeps {
  store: StateStore;
  spool: () => Promise<ObjectStore>;
  record: RecordFn;
  routes: ReadonlyMap<string, Route>;
  transportFor: TransportFor;
  retry: { schedule_seconds: readonly number[]; max_age_seconds: number };
  reportRetryMs: number;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  metrics: OutboundMetrics;
  now?: () => number;
}

/** A redelivery this close to the planned attempt time counts as on time. */
const EARLY_TOLERANCE_MS = 1000;

/** One MAIL record: report what is unreported, deliver what is pending, decide ack / nak(delay). */
export async function handleMail(deps: HandlerDeps, data: Uint8Array, working: () => void): Promise<Disposition> {
  const now = deps.now ?? Date.now;
  let record: MailRecord;
  try {
    record = codecs.mail.decode(data);
    if (record.messageId.length === 0) throw new Error("MailRecord without message_id");
  } catch (err) {
    deps.logger.error({ event: logEvents.decodeFailed, err }, "undecodable MAIL record terminated");
    deps.metrics.messages.inc({ result: "terminated" });
    return { kind: "term" };
  }
  const id = record.messageId;
  const loaded = await deps.store.load(id);
  const state = loaded.state;
  let revision = loaded.revision;
  const save = async (): Promise<void> => {
    revision = await deps.store.save(id, state, revision);
  };
  const allFinal = (): boolean => record.recipients.every((_, pos) => isFinal(state.rcpts[String(pos)]));

  /** Reports the outbox in order; false when delivery-events did not take an event. */
  const flush = async (): Promise<boolean> => {
    let progress = false;
    let ok = true;
    while (state.outbox.length > 0) {
      const event = Event.fromJSON(state.outbox[0]);
      try {
        await deps.record(event);
      } catch (err) {
        deps.logger.warn({ event: logEvents.reportFailed, message_id: id, name: event.name, err }, "cannot report outcome; will retry");
        ok = false;
        break;
      }
      state.outbox.shift();
      progress = true;
    }
    if (progress) await save();
    return ok;
  };
  const retryReport = (): Disposition => {
    deps.metrics.messages.inc({ result: "report_retry" });
    return { kind: "nak", delayMs: deps.reportRetryMs };
  };

  if (!(await flush())) return retryReport();
  if (!allFinal() && state.next_attempt_at - now() > EARLY_TOLERANCE_MS) {
    return { kind: "nak", delayMs: state.next_attempt_at - now() };
  }
  if (!allFinal()) {
    const outcome = await attempt(deps, record, state, save, working);
    if (outcome === "spool-error") return { kind: "nak", delayMs: deps.reportRetryMs };
  }
  if (allFinal() && !state.complete) {
    state.outbox.push(Event.toJSON(completeEvent(id, record.sender, state.attempts)));
    state.complete = true;
    await save();
  }
  if (!(await flush())) return retryReport();
  if (allFinal()) {
    deps.logger.info({ event: logEvents.completed, message_id: id, attempts: state.attempts }, `${id} Completed`);
    deps.metrics.messages.inc({ result: "completed" });
    return { kind: "ack", messageId: id };
  }
  deps.metrics.messages.inc({ result: "rescheduled" });
  return { kind: "nak", delayMs: Math.max(0, state.next_attempt_at - now()) };
}

/** One delivery attempt for every pending recipient; state saved after each domain group. */
async function attempt(
  deps: HandlerDeps,
  record: MailRecord,
  state: DeliveryState,
  save: () => Promise<void>,
  working: () => void,
): Promise<"done" | "spool-error"> {
  const now = deps.now ?? Date.now;
  const id = record.messageId;
  let body: Buffer | undefined;
  try {
    body = await loadBody(record, deps.spool);
  } catch (err) {
    deps.logger.warn({ event: logEvents.spoolError, message_id: id, err }, "cannot read the message body; will retry");
    return "spool-error";
  }
  state.attempts += 1;
  if (state.first_attempt_at === 0) state.first_attempt_at = now();
  const n = state.attempts;
  const targets = pendingTargets(record, state);
  const apply = (g: GroupOutcome): void => {
    for (const { target, result } of g.results) {
      const ctx = { messageId: id, sender: record.sender, attempt: n, routerName: g.routerName, transportName: g.transportName };
      state.rcpts[String(target.pos)] = { status: result.status, attempt: n, errstr: result.status === "delivered" ? undefined : result.errstr };
      state.outbox.push(Event.toJSON(outcomeEvent(ctx, target, result)));
      logDelivery(deps, { ...ctx, recipient: target.address }, result);
    }
  };

  if (body === undefined) {
    const object = record.body?.location?.$case === "spoolObject" ? record.body.location.value : "";
    deps.logger.error({ event: logEvents.spoolMissing, message_id: id, object }, "message body missing from the spool");
    const result: RcptResult = { status: "failed", errno: 0, errstr: "message body missing from the spool", internal: true };
    apply({ routerName: "", transportName: "", results: targets.map((target) => ({ target, result })) });
  } else {
    const job = {
      messageId: id,
      sender: record.sender,
      body,
      smtpUtf8: record.smtputf8,
      bodyType: record.bodyType,
      dsnRet: record.dsnRet === DsnRet.DSN_RET_FULL ? ("FULL" as const) : record.dsnRet === DsnRet.DSN_RET_HDRS ? ("HDRS" as const) : undefined,
      dsnEnvid: record.dsnEnvid,
      working,
    };
    for (const group of groupByDomain(targets, deps.routes)) {
      apply(await deliverGroup(group, job, deps.transportFor));
      await save();
      working();
    }
  }

  const deferred = pendingTargets(record, state);
  if (deferred.length === 0) return "done";
  const received = record.receivedAt?.getTime() ?? state.first_attempt_at;
  if (now() >= received + deps.retry.max_age_seconds * 1000) {
    for (const target of deferred) {
      const last = state.rcpts[String(target.pos)]?.errstr ?? "";
      const result: RcptResult = { status: "failed", errno: 0, errstr: `retry time exceeded${last ? `: ${last}` : ""}` };
      const ctx = { messageId: id, sender: record.sender, attempt: n, routerName: "", transportName: "" };
      state.rcpts[String(target.pos)] = { status: "failed", attempt: n, errstr: result.errstr };
      state.outbox.push(Event.toJSON(outcomeEvent(ctx, target, result)));
      logDelivery(deps, { ...ctx, recipient: target.address }, result);
    }
  } else {
    const delayMs = retryDelayMs(deps.retry.schedule_seconds, n);
    state.next_attempt_at = now() + delayMs;
    deps.logger.info({ event: logEvents.rescheduled, message_id: id, attempt: n, delay_ms: delayMs, deferred: deferred.length }, `${id} rescheduled`);
  }
  await save();
  return "done";
}

function logDelivery(
  deps: HandlerDeps,
  ctx: { messageId: string; recipient: string; routerName: string; transportName: string; attempt: number },
  r: RcptResult,
): void {
  const line = deliveryLogLine(ctx, r);
  const fields = {
    message_id: ctx.messageId,
    recipient: ctx.recipient,
    router: ctx.routerName,
    transport: ctx.transportName,
    attempt: ctx.attempt,
    host: r.host?.name,
    ip: r.host?.ip,
    port: r.host?.port,
  };
  deps.metrics.deliveries.inc({ outcome: r.status, transport: ctx.transportName || "none" });
  if (r.status === "delivered") deps.logger.info({ event: logEvents.delivered, ...fields, confirmation: r.confirmation }, line);
  else if (r.status === "deferred") deps.logger.warn({ event: logEvents.deferred, ...fields, errno: r.errno, errstr: r.errstr }, line);
  else deps.logger.warn({ event: logEvents.failed, ...fields, errno: r.errno, errstr: r.errstr }, line);
}
