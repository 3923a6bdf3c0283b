/**
 * Dmarc.Evaluate: the same check for operators and tools, without report
 * side effects. The request's reply_to is ignored except for its txn_id.
 */
import * as grpc from "@grpc/grpc-js";
import { type DmarcServer } from "@postern/proto";
import { type Logger } from "pino";
import { type Admission } from "@postern/service-kit";
import { type Check, refusal, toProtoVerdict } from "./checker";
import { checkSources, logEvents } from "./diagnostics";

export interface DmarcServerDeps {
  check: Check;
  admission: Admission;
  authservId: string;
  logger: Logger;
}

export function dmarcServer(deps: DmarcServerDeps): DmarcServer {
  return {
    evaluate(call, callback) {
      const request = call.request;
      const txnId = request.replyTo?.txnId ?? "";
      if (!deps.admission.tryEnter()) {
        callback({ code: deps.admission.isClosed ? grpc.status.UNAVAILABLE : grpc.status.RESOURCE_EXHAUSTED, details: "dmarc service busy or stopping" }, null);
        return;
      }
      void deps
        .check(request, checkSources.grpc)
        .then(
          (r) => callback(null, toProtoVerdict(r.verdict, txnId)),
          (err: unknown) => {
            deps.logger.warn({ event: logEvents.checkFailed, err }, "DMARC check failed");
            callback(null, refusal(txnId, deps.authservId, "message not readable"));
          },
        )
        .finally(() => deps.admission.leave());
    },
  };
}
