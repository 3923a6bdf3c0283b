/**
 * The wire side of a check: an SpfCheckRequest becomes libspf input, and a
 * libspf verdict becomes a proto SpfVerdict in exactly one function
 * (toProtoVerdict). Results are never re-derived here: libspf has mapped
 * every outcome already. `refusal` is the one verdict made without a check
 * (overload, a bad client address from the asker), always temperror.
 */
import { type SpfCheckInput, type SpfResult as LibSpfResult, type SpfVerdict as LibSpfVerdict } from "@postern/libspf";
import { type SpfCheckRequest, SpfResult, SpfVerdict } from "@postern/proto";

const results: Record<LibSpfResult, SpfResult> = {
  none: SpfResult.SPF_RESULT_NONE,
  neutral: SpfResult.SPF_RESULT_NEUTRAL,
  pass: SpfResult.SPF_RESULT_PASS,
  fail: SpfResult.SPF_RESULT_FAIL,
  softfail: SpfResult.SPF_RESULT_SOFTFAIL,
  temperror: SpfResult.SPF_RESULT_TEMPERROR,
  permerror: SpfResult.SPF_RESULT_PERMERROR,
};

/** What the service checks for a request; `guess` is spf_guess_enable. */
export function toCheckInput(request: SpfCheckRequest, guess: boolean): SpfCheckInput {
  return { ip: request.ip, mailFrom: request.sender, helo: request.helo, identity: request.checkHelo ? "helo" : "mailfrom", guess };
}

export function toProtoVerdict(verdict: LibSpfVerdict, txnId: string): SpfVerdict {
  return {
    txnId,
    result: results[verdict.result],
    domain: verdict.domain,
    smtpComment: verdict.exim.spf_smtp_comment,
    headerComment: verdict.exim.spf_header_comment,
    receivedSpf: verdict.receivedSpf,
    explanation: verdict.explanation ?? "",
    identity: verdict.identity,
  };
}

/** temperror without a check; `why` is ours (printable ASCII), never the asker's text. */
export function refusal(txnId: string, receiver: string, why: string): SpfVerdict {
  const comment = `${receiver}: ${why}`;
  return SpfVerdict.fromPartial({
    txnId,
    result: SpfResult.SPF_RESULT_TEMPERROR,
    smtpComment: comment,
    headerComment: comment,
    receivedSpf: `temperror (${comment})`,
  });
}
