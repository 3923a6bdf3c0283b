/**
 * The queue-group consumer of postern.v1.dmarc.check: any instance may take
 * any request. Each verdict goes back through EdgeCallback.ReportDmarcBatch
 * (ReportDmarc for an edge without it) on the
 * request's reply_to address; then, off the reply path, the aggregate row is
 * recorded and a failure report queued when enabled. Beyond max_in_flight a
 * request is answered temperror at once.
 *
 * SECURITY: payloads are decoded with the bus codec (malformed bytes are
 * dropped); the message body is hostile and only read by the libraries.
 */
import { type Bus, codecs, queueGroups, subjects } from "@postern/bus";
import { type DmarcCheckRequest, type DmarcVerdict, type EdgeCallbackClient } from "@postern/proto";
import { type Admission, type GrpcClientPool, unaryCall, verdictReplier } from "@postern/service-kit";
import { type Logger } from "pino";
import { type Check, type CheckResult, refusal, toProtoVerdict } from "./checker";
import { checkSources, type DropReason, dropReasons, logEvents, type DmarcMetrics } from "./diagnostics";

export interface ConsumerDeps {
  bus: Bus;
  check: Check;
  admission: Admission;
  callbacks: GrpcClientPool<EdgeCallbackClient>;
  /** callback.mode: verdicts as messages of a long-lived stream per edge, or as batched calls */
  replyMode?: "stream" | "batch";
  replyBudgetMs: number;
  authservId: string;
  /** after the reply: aggregate row, failure report */
  afterVerdict: (request: DmarcCheckRequest, result: CheckResult) => Promise<void>;
  metrics: DmarcMetrics;
  logger: Logger;
}

export interface Consumer {
  stop(): Promise<void>;
}

export function startConsumer(deps: ConsumerDeps): Consumer {
  const { metrics, logger } = deps;
  const drop = (reason: DropReason, err?: unknown): void => {
    metrics.dropped.inc({ reason });
    logger.debug({ event: logEvents.requestDropped, reason, err }, "dmarc.check request dropped");
  };

  // Verdicts for the same edge share one long-lived StreamDmarcVerdicts call (callback.mode stream), or
  // batched calls under load (mode batch, or an edge without the stream) (docs/adr/0006).
  const reply = verdictReplier<DmarcVerdict>({
    sendBatch: (address, verdicts, deadlineMs) => {
      const client = deps.callbacks.get(address);
      return unaryCall(client.reportDmarcBatch.bind(client), { verdicts }, deadlineMs);
    },
    sendOne: (address, verdict, deadlineMs) => {
      const client = deps.callbacks.get(address);
      return unaryCall(client.reportDmarc.bind(client), verdict, deadlineMs);
    },
    openStream: (address, done) => deps.callbacks.get(address).streamDmarcVerdicts(done),
    mode: deps.replyMode ?? "stream",
    budgetMs: deps.replyBudgetMs,
    replies: metrics.replies,
    idOf: (verdict) => verdict.txnId,
    onFailure: (address, txnId, err) => logger.warn({ event: logEvents.replyFailed, address, txn_id: txnId, err }, "ReportDmarc failed"),
  });

  const run = async (request: DmarcCheckRequest, address: string, txnId: string, receivedAt: number): Promise<void> => {
    let result: CheckResult;
    try {
      result = await deps.check(request, checkSources.nats);
    } catch (err) {
      logger.warn({ event: logEvents.checkFailed, err }, "DMARC check failed");
      return reply(address, refusal(txnId, deps.authservId, err instanceof Error && err.name === "BodyUnavailableError" ? "message not readable" : "DMARC check failed"), receivedAt);
    }
    const v = result.verdict;
    // the fields object would be built for every message even with debug off
    if (logger.isLevelEnabled("debug")) logger.debug({ event: logEvents.verdict, status: v.status, result: v.result, author_domain: v.authorDomain, used_domain: v.usedDomain, policy: v.domainPolicy }, "dmarc verdict");
    await reply(address, toProtoVerdict(v, txnId), receivedAt);
    await deps.afterVerdict(request, result);
  };

  const handle = (data: Uint8Array): void => {
    const receivedAt = performance.now();
    let request: DmarcCheckRequest;
    try {
      request = codecs.dmarcCheck.decode(data);
    } catch (err) {
      return drop(dropReasons.undecodable, err);
    }
    const address = request.replyTo?.grpcAddress ?? "";
    const txnId = request.replyTo?.txnId ?? "";
    if (address === "" || txnId === "") return drop(dropReasons.noReplyTo);
    if (!deps.admission.tryEnter()) {
      if (deps.admission.isClosed) return drop(dropReasons.stopping);
      drop(dropReasons.overload);
      void reply(address, refusal(txnId, deps.authservId, "DMARC service busy"), receivedAt);
      return;
    }
    void run(request, address, txnId, receivedAt).finally(() => deps.admission.leave());
  };

  const sub = deps.bus.nc.subscribe(subjects.dmarcCheck, {
    queue: queueGroups.dmarc,
    callback: (err, msg) => {
      if (err) return logger.warn({ event: logEvents.subscriptionError, err }, "dmarc.check subscription error");
      handle(msg.data);
    },
  });
  logger.info({ event: logEvents.consumerReady, subject: subjects.dmarcCheck, queue: queueGroups.dmarc }, "consuming dmarc.check");

  return {
    async stop() {
      if (!sub.isClosed()) await sub.drain().catch(() => undefined);
      // checks still running answer by calls from now on
      await reply.close();
      logger.info({ event: logEvents.consumerStopped, in_flight: deps.admission.size }, "dmarc.check consumer stopped");
    },
  };
}
