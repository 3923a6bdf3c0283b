/**
 * One check: read the message from its BodyRef (inline or the spool object
 * store), verify its DKIM signatures (@postern/dkim), evaluate DMARC
 * (@postern/libdmarc) with the SPF verdict the edge passed along. The
 * libraries map every DNS and input condition to a verdict already; what can
 * still fail here is reading the body, which `refusal` turns into temperror.
 */
import { type ObjectStore } from "@postern/bus";
import { type DkimDns, type DkimResult, verifyMessage } from "@postern/dkim";
import { type DkimResultInput, type DmarcDns, type DmarcVerdict as LibVerdict, evaluateDmarc, type SpfResultInput } from "@postern/libdmarc";
import { type BodyRef, type DmarcCheckRequest, DmarcStatus, DmarcVerdict, SpfResult, type SpfVerdict } from "@postern/proto";
import { SharedDeadlines } from "@postern/service-kit";
import { type DmarcSection } from "./config";
import { type CheckSource, type DmarcMetrics } from "./diagnostics";

export class BodyUnavailableError extends Error {
  readonly code = "POSTERN_DMARC_BODY";
  constructor(message: string) {
    super(message);
    this.name = "BodyUnavailableError";
  }
}

export interface CheckDeps {
  dns: DmarcDns;
  dkimDns: DkimDns;
  /** the spool bucket, opened on first use (most messages come inline) */
  spool: () => Promise<ObjectStore>;
  cfg: DmarcSection;
  metrics: DmarcMetrics;
  /** clock for DKIM x=/t=; Date.now by default */
  now?: () => number;
}

export interface CheckResult {
  verdict: LibVerdict;
  body: Buffer;
  dkim: readonly DkimResult[];
}

export type Check = (request: DmarcCheckRequest, source: CheckSource) => Promise<CheckResult>;

const spfNames: Record<number, string> = {
  [SpfResult.SPF_RESULT_NONE]: "none",
  [SpfResult.SPF_RESULT_NEUTRAL]: "neutral",
  [SpfResult.SPF_RESULT_PASS]: "pass",
  [SpfResult.SPF_RESULT_FAIL]: "fail",
  [SpfResult.SPF_RESULT_SOFTFAIL]: "softfail",
  [SpfResult.SPF_RESULT_TEMPERROR]: "temperror",
  [SpfResult.SPF_RESULT_PERMERROR]: "permerror",
};

/** The SPF input DMARC uses: the checked domain (MAIL FROM domain, or HELO for the null sender). */
export function spfInput(spf: SpfVerdict | undefined, sender: string, helo: string): SpfResultInput | undefined {
  if (spf === undefined || spf.result === SpfResult.SPF_RESULT_UNSPECIFIED) return undefined;
  const at = sender.lastIndexOf("@");
  const helo_ = spf.identity === "helo" || sender === "";
  const domain = spf.domain !== "" ? spf.domain : helo_ ? helo : at >= 0 ? sender.slice(at + 1) : "";
  return { result: spfNames[spf.result] ?? "none", domain, scope: helo_ ? "helo" : "mfrom" };
}

export function dkimInput(results: readonly DkimResult[]): DkimResultInput[] {
  return results
    .filter((r) => r.domain !== "")
    .map((r) => ({ domain: r.domain, selector: r.selector, result: r.result, signature: r.headerB, ...(r.reason === undefined ? {} : { reason: r.reason }) }));
}

async function readBody(ref: BodyRef | undefined, deps: CheckDeps): Promise<Buffer> {
  const loc = ref?.location;
  if (loc === undefined) throw new BodyUnavailableError("request has no body reference");
  if (Number(ref?.size ?? 0) > deps.cfg.max_message_bytes) throw new BodyUnavailableError(`message larger than max_message_bytes (${deps.cfg.max_message_bytes})`);
  // A view, not a copy: the decoded bytes are a slice of the frame NATS read, which is not reused, and
  // nothing here writes to the message.
  if (loc.$case === "inline") return Buffer.from(loc.value.buffer, loc.value.byteOffset, loc.value.byteLength);
  const data = await (await deps.spool()).getBlob(loc.value);
  if (data === null) throw new BodyUnavailableError(`spool object ${loc.value} not found`);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const deadlineReached = new Error("DMARC check deadline reached");

export function createCheck(deps: CheckDeps): Check {
  const { cfg, metrics } = deps;
  // one deadline signal and timer per slice of time, not per check (SharedDeadlines); libdkim listens on the
  // signal while a key query is out
  const deadlines = new SharedDeadlines(cfg.check_timeout_ms, deadlineReached);
  return async (request, source) => {
    const started = performance.now();
    metrics.inFlight.inc();
    const deadline = deadlines.enter();
    const signal = deadline.signal;
    try {
      const body = await readBody(request.body, deps);
      const dkim = await verifyMessage(body, {
        resolver: deps.dkimDns,
        allowSha1: cfg.dkim.allow_sha1,
        minRsaBits: cfg.dkim.min_rsa_bits,
        maxSignatures: cfg.dkim.max_signatures,
        signal,
        ...(deps.now === undefined ? {} : { now: deps.now }),
      });
      const verdict = await evaluateDmarc(
        { message: body, dkim: dkimInput(dkim), ...optional("spf", spfInput(request.spf, request.sender, request.client?.helo ?? "")) },
        { dns: deps.dns, mode: cfg.mode, authservId: cfg.authserv_id, pslPrivateDomains: cfg.psl_private_domains, signal },
      );
      metrics.checks.inc({ status: verdict.status, source });
      return { verdict, body, dkim };
    } finally {
      deadline.leave();
      metrics.inFlight.dec();
      metrics.checkSeconds.observe({ source }, (performance.now() - started) / 1000);
    }
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

const statuses: Record<LibVerdict["status"], DmarcStatus> = {
  accept: DmarcStatus.DMARC_STATUS_ACCEPT,
  none: DmarcStatus.DMARC_STATUS_NONE,
  off: DmarcStatus.DMARC_STATUS_OFF,
  nofrom: DmarcStatus.DMARC_STATUS_NOFROM,
  quarantine: DmarcStatus.DMARC_STATUS_QUARANTINE,
  reject: DmarcStatus.DMARC_STATUS_REJECT,
  temperror: DmarcStatus.DMARC_STATUS_TEMPERROR,
};

/**
 * The one place a library verdict becomes a proto verdict. A plain object with
 * every field set, as DmarcVerdict.fromPartial would make it (without its
 * per-field copy): checker.test.ts compares the two.
 */
export function toProtoVerdict(v: LibVerdict, txnId: string): DmarcVerdict {
  const dkim: DmarcVerdict["dkim"] = [];
  for (const d of v.dkim) dkim.push({ domain: d.domain, selector: d.selector ?? "", result: d.result, reason: d.reason ?? "" });
  return {
    txnId,
    status: statuses[v.status] ?? DmarcStatus.DMARC_STATUS_UNSPECIFIED,
    statusText: v.statusText,
    usedDomain: v.usedDomain,
    domainPolicy: v.domainPolicy,
    arHeader: v.arHeader,
    dkim,
    result: v.result,
    authorDomain: v.authorDomain ?? "",
    mode: v.mode,
  };
}

/** temperror without a verdict from the libraries (body unreadable, overload); `why` is ours. */
export function refusal(txnId: string, authservId: string, why: string): DmarcVerdict {
  return DmarcVerdict.fromPartial({
    txnId,
    status: DmarcStatus.DMARC_STATUS_TEMPERROR,
    statusText: `Temporary error in DMARC processing: ${why}`,
    arHeader: `Authentication-Results: ${authservId};\r\n\tdmarc=temperror (${why.replace(/[()\\\r\n]/g, "")})`,
    result: "temperror",
  });
}
