import { codecs, type ObjectStore } from "@postern/bus";
import { DsnRet, Event, MailRecord } from "@postern/proto";
import { deliverGroup, loadBody, pendingTargets, retryDelayMs, routeGroups, type GroupOutcome, type TransportFor } from "./attempt";
import { deliveryLogLine } from "./delivery-log";
import { logEvents, type OutboundMetrics } from "./diagnostics";
import { buildDsn, wantsFailureDsn, type FailedRecipient } from "./dsn";
import { completeEvent, dnsFailEvent, hostDeferEvent, outcomeEvent, tlsFailEvent, type RecordFn } from "./outcomes";
import { type Route } from "./routes";
import { emptyState, isFinal, type DeliveryState, type LoadedState, type StateStore } from "./state";
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
  /** Route of every recipient of a record flagged `quarantine` (config quarantine_route); unset: routes as usual. */
  quarantineRoute?: Route;
  transportFor: TransportFor;
  retry: { schedule_seconds: readonly number[]; max_age_seconds: number };
  reportRetryMs: number;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  metrics: OutboundMetrics;
  now?: () => number;
  /** How long an in-flight marker holds off other copies of the record (the consumer's ack wait). */
  leaseMs?: number;
  /** Publishes a MailRecord (a bounce) to MAIL with a JetStream msg id (de-duplicated by the server). */
  publishMail?: (data: Uint8Array, msgId: string) => Promise<void>;
  bounce?: { enabled: boolean; dsnInfo: boolean; reportingMta: string; returnSizeLimit: number };
}

/** A redelivery this close to the planned attempt time counts as on time. */
const EARLY_TOLERANCE_MS = 1000;

/** One MAIL record: report what is unreported, deliver what is pending, decide ack / nak(delay). */
export async function handleMail(deps: HandlerDeps, data: Uint8Array, working: () => void, opts: { firstDelivery?: boolean } = {}): Promise<Disposition> {
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
  // A record JetStream hands out for the first time has no state yet: the create below
  // (compare-and-set on "no entry") still catches the exception, so skip the read.
  const loaded: LoadedState = opts.firstDelivery === true ? { state: emptyState(), revision: 0 } : await deps.store.load(id);
  if (loaded.done === true) {
    deps.logger.info({ event: logEvents.alreadyDone, message_id: id }, `${id} already completed; copy dropped`);
    return { kind: "ack", messageId: id };
  }
  const state = loaded.state;
  let revision = loaded.revision;
  const leaseLeft = (state.inflight?.length ?? 0) > 0 ? (state.inflight_until ?? 0) - now() : 0;
  if (leaseLeft > 0) {
    // Another worker is delivering this record right now (JetStream handed out a second copy
    // because the first waited too long): come back when its lease ends.
    deps.logger.info({ event: logEvents.stateConflict, message_id: id }, `${id} is being delivered elsewhere`);
    return { kind: "nak", delayMs: leaseLeft };
  }
  const save = async (): Promise<void> => {
    revision = await deps.store.save(id, state, revision);
  };
  const allFinal = (): boolean => record.recipients.every((_, pos) => isFinal(state.rcpts[String(pos)]));

  /** Reports the outbox in order; false when delivery-events did not take an event. */
  const flush = async (): Promise<boolean> => {
    let progress = false;
    let ok = true;
    while (state.dsn_pending && state.dsn_pending.length > 0 && deps.publishMail) {
      const d = state.dsn_pending[0];
      if (!d) break;
      try {
        await deps.publishMail(Buffer.from(d.data, "base64"), d.id);
      } catch (err) {
        deps.logger.warn({ event: logEvents.bounceFailed, message_id: id, bounce_id: d.id, err }, "cannot enqueue bounce; will retry");
        if (progress) await save();
        return false;
      }
      deps.logger.info({ event: logEvents.bounced, message_id: id, bounce_id: d.id }, `${d.id} <= <> R=${id}`);
      state.dsn_pending.shift();
      progress = true;
    }
    if (state.outbox.length > 0) {
      // Sent together (one gRPC connection keeps them in order); the accepted prefix leaves the outbox.
      const events = state.outbox.map((e) => Event.fromJSON(e));
      const results = await Promise.allSettled(events.map((e) => deps.record(e)));
      let accepted = 0;
      while (accepted < results.length && results[accepted]?.status === "fulfilled") accepted++;
      const failure = results[accepted];
      if (failure?.status === "rejected") {
        deps.logger.warn({ event: logEvents.reportFailed, message_id: id, name: events[accepted]?.name, err: failure.reason as unknown }, "cannot report outcome; will retry");
        ok = false;
      }
      if (accepted > 0) {
        state.outbox.splice(0, accepted);
        progress = true;
      }
    }
    // When every recipient is final the record is acked and its state purged next: a save
    // here would be undone at once. Should the ack fail, the events are reported again with
    // the same ids (consumers de-duplicate) and a bounce re-published with the same msg id.
    if (progress && (!ok || !allFinal())) await save();
    return ok;
  };
  const retryReport = (): Disposition => {
    deps.metrics.messages.inc({ result: "report_retry" });
    return { kind: "nak", delayMs: deps.reportRetryMs };
  };

  if (!(await flush())) return retryReport();
  if (!allFinal() && state.cancel !== undefined) await cancelPending(deps, record, state, save);
  if (!allFinal() && state.next_attempt_at - now() > EARLY_TOLERANCE_MS) {
    return { kind: "nak", delayMs: state.next_attempt_at - now() };
  }
  if (!allFinal()) {
    const finish = (): void => {
      if (allFinal() && !state.complete) {
        state.outbox.push(Event.toJSON(completeEvent(id, record.sender, state.attempts)));
        state.complete = true;
      }
    };
    const outcome = await attempt(deps, record, state, save, working, finish);
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
  /** Adds msg:complete when every recipient is final, so it goes out with the last state write. */
  finish: () => void,
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
  // Positions that were in flight when an earlier process died: the server may have them already.
  const suspects = new Set(state.inflight ?? []);
  const failed: FailedRecipient[] = [];
  const apply = (g: GroupOutcome): void => {
    const hostsSeen = new Set<string>();
    let dnsReported = false;
    for (const { target, result } of g.results) {
      const ctx = { messageId: id, sender: record.sender, attempt: n, routerName: g.routerName, transportName: g.transportName };
      (result.tried ?? []).forEach((d, seq) => {
        const key = `${seq}:${d.host.ip}:${d.host.port}`;
        if (d.level === "host" && !hostsSeen.has(key)) {
          hostsSeen.add(key);
          state.outbox.push(Event.toJSON(hostDeferEvent(ctx, d, seq)));
          if (d.tlsFailure) state.outbox.push(Event.toJSON(tlsFailEvent(ctx, { ...d, tlsFailure: d.tlsFailure }, seq)));
        }
        state.outbox.push(Event.toJSON(hostDeferEvent(ctx, d, seq, target)));
      });
      if (result.status === "deferred" && result.dnsFail === true && !dnsReported) {
        dnsReported = true;
        state.outbox.push(Event.toJSON(dnsFailEvent(ctx, target.domain, result.errstr)));
      }
      state.rcpts[String(target.pos)] = { status: result.status, attempt: n, errstr: result.status === "delivered" ? undefined : result.errstr };
      const dup = result.status === "delivered" && suspects.has(target.pos);
      state.outbox.push(Event.toJSON(outcomeEvent(ctx, target, result, dup ? { possible_duplicate: "true" } : {})));
      logDelivery(deps, { ...ctx, recipient: target.address }, result, dup);
      if (result.status === "failed") failed.push({ target, result });
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
    for (const group of routeGroups(targets, deps.routes, { route: deps.quarantineRoute, quarantined: record.quarantine })) {
      // Recorded before the first byte goes out, so a crash from here on is recognised on redelivery.
      state.inflight = group.targets.map((t) => t.pos);
      state.inflight_until = now() + (deps.leaseMs ?? 600_000);
      await save();
      apply(await deliverGroup(group, job, deps.transportFor));
      state.inflight = undefined;
      state.inflight_until = undefined;
      finish();
      await save();
      working();
    }
  }

  const deferred = pendingTargets(record, state);
  if (deferred.length === 0) {
    if (queueBounce(deps, record, state, failed, body, n, now())) await save();
    return "done";
  }
  const received = record.receivedAt?.getTime() ?? state.first_attempt_at;
  if (now() >= received + deps.retry.max_age_seconds * 1000) {
    for (const target of deferred) {
      const last = state.rcpts[String(target.pos)]?.errstr ?? "";
      const result: RcptResult = { status: "failed", errno: 0, errstr: `retry time exceeded${last ? `: ${last}` : ""}` };
      const ctx = { messageId: id, sender: record.sender, attempt: n, routerName: "", transportName: "" };
      state.rcpts[String(target.pos)] = { status: "failed", attempt: n, errstr: result.errstr };
      state.outbox.push(Event.toJSON(outcomeEvent(ctx, target, result)));
      logDelivery(deps, { ...ctx, recipient: target.address }, result);
      if (result.status === "failed") failed.push({ target, result, expired: true });
    }
  } else {
    const delayMs = retryDelayMs(deps.retry.schedule_seconds, n);
    state.next_attempt_at = now() + delayMs;
    deps.logger.info({ event: logEvents.rescheduled, message_id: id, attempt: n, delay_ms: delayMs, deferred: deferred.length }, `${id} rescheduled`);
  }
  queueBounce(deps, record, state, failed, body, n, now());
  await save();
  return "done";
}

/** postern queue bounce|remove: every pending recipient fails now (Exim's -Mg / -Mrm), with a bounce for "bounce". */
async function cancelPending(deps: HandlerDeps, record: MailRecord, state: DeliveryState, save: () => Promise<void>): Promise<void> {
  const now = deps.now ?? Date.now;
  const id = record.messageId;
  state.attempts += 1;
  const n = state.attempts;
  const errstr = state.cancel === "bounce" ? "delivery cancelled by administrator" : "message removed by administrator";
  const failed: FailedRecipient[] = [];
  for (const target of pendingTargets(record, state)) {
    const result: Extract<RcptResult, { status: "failed" }> = { status: "failed", errno: 0, errstr };
    const ctx = { messageId: id, sender: record.sender, attempt: n, routerName: "", transportName: "" };
    state.rcpts[String(target.pos)] = { status: "failed", attempt: n, errstr };
    state.outbox.push(Event.toJSON(outcomeEvent(ctx, target, result)));
    logDelivery(deps, { ...ctx, recipient: target.address }, result);
    failed.push({ target, result });
  }
  if (state.cancel === "bounce") {
    let body: Buffer | undefined;
    try {
      body = await loadBody(record, deps.spool);
    } catch {
      body = undefined; // bounce without the original rather than not at all
    }
    queueBounce(deps, record, state, failed, body, n, now());
  }
  state.outbox.push(Event.toJSON(completeEvent(id, record.sender, n)));
  state.complete = true;
  await save();
}

/** The bounce id of a message and attempt: stable, so a re-publish is de-duplicated by JetStream and the edge-less record has a KV-safe id. */
export function bounceId(messageId: string, attempt: number): string {
  return `${messageId}-B${attempt}`;
}

/** Builds the DSN for this attempt's failures (those that want one) and adds it to dsn_pending; saved by the caller. */
function queueBounce(deps: HandlerDeps, record: MailRecord, state: DeliveryState, failed: FailedRecipient[], body: Buffer | undefined, attempt: number, nowMs: number): boolean {
  const b = deps.bounce;
  if (!b?.enabled || !deps.publishMail) return false;
  const wanted = failed.filter((f) => !f.result.internal && wantsFailureDsn(record.sender, f.target));
  if (wanted.length === 0) return false;
  const dsn = buildDsn({
    messageId: record.messageId,
    sender: record.sender,
    envid: record.dsnEnvid,
    ret: record.dsnRet === DsnRet.DSN_RET_HDRS ? "HDRS" : record.dsnRet === DsnRet.DSN_RET_FULL ? "FULL" : undefined,
    receivedAt: record.receivedAt,
    reportingMta: b.reportingMta,
    failed: wanted,
    original: body ?? Buffer.alloc(0),
    dsnInfo: b.dsnInfo,
    returnSizeLimit: b.returnSizeLimit,
    now: new Date(nowMs),
  });
  const bid = bounceId(record.messageId, attempt);
  const bounce = MailRecord.fromPartial({
    messageId: bid,
    receivedAt: new Date(nowMs),
    sender: "",
    recipients: [{ address: record.sender, notify: [], orcpt: "", index: 0 }],
    body: { location: { $case: "inline", value: dsn }, size: String(dsn.length), sha256: "" },
    smtputf8: /[^\x00-\x7f]/.test(record.sender),
    bodyType: /[^\x00-\x7f]/.test(dsn.toString("latin1")) ? "8BITMIME" : "7BIT",
    receivedBy: b.reportingMta,
  });
  state.dsn_pending = [...(state.dsn_pending ?? []), { id: bid, data: Buffer.from(codecs.mail.encode(bounce)).toString("base64") }];
  return true;
}

function logDelivery(
  deps: HandlerDeps,
  ctx: { messageId: string; recipient: string; routerName: string; transportName: string; attempt: number },
  r: RcptResult,
  possibleDuplicate = false,
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
  if (r.status === "delivered") deps.logger.info({ event: logEvents.delivered, ...fields, confirmation: r.confirmation, ...(possibleDuplicate ? { possible_duplicate: true } : {}) }, line);
  else if (r.status === "deferred") deps.logger.warn({ event: logEvents.deferred, ...fields, errno: r.errno, errstr: r.errstr }, line);
  else deps.logger.warn({ event: logEvents.failed, ...fields, errno: r.errno, errstr: r.errstr }, line);
}
