/**
 * Spf.Check: the ${lookup spf} equivalent for operators and tools. The
 * request's reply_to is ignored except for its txn_id, which is echoed.
 * Status codes: INVALID_ARGUMENT for a client address that is not IPv4 or
 * IPv6, RESOURCE_EXHAUSTED beyond max_in_flight, UNAVAILABLE while stopping.
 */
import * as grpc from "@grpc/grpc-js";
import { SpfInputError } from "@postern/libspf";
import { type SpfServer } from "@postern/proto";
import { type Logger } from "pino";
import { type Admission } from "@postern/service-kit";
import { type Check } from "./checker";
import { checkSources, logEvents } from "./diagnostics";
import { toCheckInput, toProtoVerdict } from "./proto-verdict";

export interface SpfServerDeps {
  check: Check;
  admission: Admission;
  guess: boolean;
  logger: Logger;
}

function failure(code: grpc.status, details: string): Partial<grpc.ServiceError> {
  return { code, details };
}

export function spfServer(deps: SpfServerDeps): SpfServer {
  return {
    check(call, callback) {
      const request = call.request;
      if (!deps.admission.tryEnter()) {
        callback(deps.admission.isClosed ? failure(grpc.status.UNAVAILABLE, "spf service is stopping") : failure(grpc.status.RESOURCE_EXHAUSTED, "too many checks in flight"), null);
        return;
      }
      void deps
        .check(toCheckInput(request, deps.guess), checkSources.grpc)
        .then(
          (verdict) => callback(null, toProtoVerdict(verdict, request.replyTo?.txnId ?? "")),
          (err: unknown) => {
            if (err instanceof SpfInputError) return callback(failure(grpc.status.INVALID_ARGUMENT, err.message), null);
            deps.logger.error({ event: logEvents.checkFailed, err }, "SPF check failed");
            callback(failure(grpc.status.INTERNAL, "SPF check failed"), null);
          },
        )
        .finally(() => deps.admission.leave());
    },
  };
}
