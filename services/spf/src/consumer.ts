/**
 * The queue-group consumer of postern.v1.spf.check: any instance may take any
 * request. Each verdict goes back through EdgeCallback.ReportSpfBatch (or
 * ReportSpf for an edge without it) on the request's reply_to address; a request without one has nobody to answer and
 * is dropped. Beyond max_in_flight a request is answered temperror at once,
 * which the edge would conclude anyway at its deadline. A verdict must reach
 * the asker within check_timeout_ms + callback.deadline_ms of the request's
 * arrival (the edge's own wait), so a slow reply keeps what is left of that.
 *
 * SECURITY: payloads are decoded with the bus codec (malformed bytes are
 * dropped, never half-read); reply_to addresses come from the edges, which
 * are the only publishers on the subject.
 */
import { type Bus, codecs, queueGroups, subjects } from "@postern/bus";
import { SpfInputError, type SpfVerdict as LibSpfVerdict } from "@postern/libspf";
import { type EdgeCallbackClient, type SpfCheckRequest, type SpfVerdict } from "@postern/proto";
import { type Admission, type GrpcClientPool, unaryCall, verdictReplier } from "@postern/service-kit";
import { type Logger } from "pino";
import { type Check } from "./checker";
import { checkSources, type DropReason, dropReasons, logEvents, type SpfMetrics } from "./diagnostics";
import { refusal, toCheckInput, toProtoVerdict } from "./proto-verdict";

export interface ConsumerDeps {
  bus: Bus;
  check: Check;
  admission: Admission;
  callbacks: GrpcClientPool<EdgeCallbackClient>;
  /** a verdict reaches the asker within this long after the request arrived, or is given up */
  replyBudgetMs: number;
  /** callback.mode: verdicts as messages of a long-lived stream per edge, or as batched calls */
  replyMode?: "stream" | "batch";
  receiver: string;
  guess: boolean;
  metrics: SpfMetrics;
  logger: Logger;
}

export interface Consumer {
  /** Stops taking requests: the subscription is drained (requests already delivered still run). */
  stop(): Promise<void>;
}

export function startConsumer(deps: ConsumerDeps): Consumer {
  const { metrics, logger } = deps;
  const drop = (reason: DropReason, err?: unknown): void => {
    metrics.dropped.inc({ reason });
    logger.debug({ event: logEvents.requestDropped, reason, err }, "spf.check request dropped");
  };

  // Verdicts for the same edge share one long-lived StreamSpfVerdicts call (callback.mode stream), or
  // batched calls under load (mode batch, or an edge without the stream) (docs/adr/0006).
  const reply = verdictReplier<SpfVerdict>({
    sendBatch: (address, verdicts, deadlineMs) => {
      const client = deps.callbacks.get(address);
      return unaryCall(client.reportSpfBatch.bind(client), { verdicts }, deadlineMs);
    },
    sendOne: (address, verdict, deadlineMs) => {
      const client = deps.callbacks.get(address);
      return unaryCall(client.reportSpf.bind(client), verdict, deadlineMs);
    },
    openStream: (address, done) => deps.callbacks.get(address).streamSpfVerdicts(done),
    mode: deps.replyMode ?? "stream",
    budgetMs: deps.replyBudgetMs,
    replies: metrics.replies,
    idOf: (verdict) => verdict.txnId,
    onFailure: (address, txnId, err) => logger.warn({ event: logEvents.replyFailed, address, txn_id: txnId, err }, "ReportSpf failed"),
  });

  /** The verdict for a check that threw: a bad client address from the asker, or a bug. */
  const failed = (err: unknown, txnId: string): SpfVerdict => {
    if (err instanceof SpfInputError) {
      drop(dropReasons.invalidIp, err);
      return refusal(txnId, deps.receiver, "invalid client address");
    }
    logger.error({ event: logEvents.checkFailed, err }, "SPF check failed");
    return refusal(txnId, deps.receiver, "SPF check failed");
  };
  const leave = (): void => deps.admission.leave();

  /**
   * Checks, replies, and leaves admission once the reply is settled (reply() never rejects). Plain
   * reactions rather than an async function with then/finally: three fewer promises per message.
   */
  const checkAndReply = (request: SpfCheckRequest, address: string, txnId: string, receivedAt: number): void => {
    const answer = (verdict: SpfVerdict): void => void reply(address, verdict, receivedAt).then(leave);
    let checked: Promise<LibSpfVerdict>;
    try {
      checked = deps.check(toCheckInput(request, deps.guess), checkSources.nats);
    } catch (err) {
      answer(failed(err, txnId));
      return;
    }
    checked.then(
      (verdict) => {
        let proto: SpfVerdict;
        try {
          proto = toProtoVerdict(verdict, txnId);
        } catch (err) {
          proto = failed(err, txnId);
        }
        answer(proto);
      },
      (err: unknown) => answer(failed(err, txnId)),
    );
  };

  const handle = (data: Uint8Array): void => {
    const receivedAt = performance.now();
    let request: SpfCheckRequest;
    try {
      request = codecs.spfCheck.decode(data);
    } catch (err) {
      return drop(dropReasons.undecodable, err);
    }
    const address = request.replyTo?.grpcAddress ?? "";
    const txnId = request.replyTo?.txnId ?? "";
    if (address === "" || txnId === "") return drop(dropReasons.noReplyTo);
    if (!deps.admission.tryEnter()) {
      // Stopping: the subscription is drained already and the callback clients are closing.
      if (deps.admission.isClosed) return drop(dropReasons.stopping);
      drop(dropReasons.overload);
      void reply(address, refusal(txnId, deps.receiver, "SPF service busy"), receivedAt);
      return;
    }
    checkAndReply(request, address, txnId, receivedAt);
  };

  const sub = deps.bus.nc.subscribe(subjects.spfCheck, {
    queue: queueGroups.spf,
    callback: (err, msg) => {
      if (err) return logger.warn({ event: logEvents.subscriptionError, err }, "spf.check subscription error");
      handle(msg.data);
    },
  });
  logger.info({ event: logEvents.consumerReady, subject: subjects.spfCheck, queue: queueGroups.spf }, "consuming spf.check");

  return {
    async stop() {
      // A connection that is already gone has nothing left to drain.
      if (!sub.isClosed()) await sub.drain().catch(() => undefined);
      // checks still running answer by calls from now on
      await reply.close();
      logger.info({ event: logEvents.consumerStopped, in_flight: deps.admission.size }, "spf.check consumer stopped");
    },
  };
}
