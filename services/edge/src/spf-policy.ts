/**
 * SPF policy at the edge, pure: Exim-style result lists ("fail", "!pass : none",
 * with the deprecated aliases err_perm/err_temp) and the reply each verdict
 * earns. Which list matches decides: spf_reject → 550 5.7.23, spf_defer →
 * 451 4.7.24 (RFC 7372 codes), anything else is accepted.
 */
import { SpfResult } from "@postern/proto";
import { type Reply, reply } from "@postern/smtp";

export const spfResultNames = ["none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"] as const;
export type SpfResultName = (typeof spfResultNames)[number];

/** Exim 4.83 renamed err_perm and err_temp; the old names still work in configuration. */
const aliases: Record<string, SpfResultName> = { err_perm: "permerror", err_temp: "temperror" };

export function parseResultName(text: string): SpfResultName | undefined {
  const name = text.trim().toLowerCase();
  return aliases[name] ?? spfResultNames.find((n) => n === name);
}

export interface SpfCondition {
  matches(result: SpfResultName): boolean;
}

/**
 * "fail : softfail" or ["fail", "softfail"]; "!x" matches every result but x.
 * Evaluated left to right; the first item that matches decides (a negated one
 * that does not match is skipped, as in Exim's list semantics). Returns the
 * offending item when one is not a result name.
 */
export function parseSpfCondition(list: string | readonly string[]): SpfCondition | { error: string } {
  const items = (typeof list === "string" ? list.split(":") : [...list]).map((s) => s.trim()).filter((s) => s !== "");
  const parsed: Array<{ negated: boolean; name: SpfResultName }> = [];
  for (const item of items) {
    const negated = item.startsWith("!");
    const name = parseResultName(negated ? item.slice(1) : item);
    if (name === undefined) return { error: `not an SPF result: ${JSON.stringify(item)}` };
    parsed.push({ negated, name });
  }
  return {
    matches: (result) => parsed.some(({ negated, name }) => (negated ? name !== result : name === result)),
  };
}

const wire: Record<SpfResult, SpfResultName | undefined> = {
  [SpfResult.SPF_RESULT_NONE]: "none",
  [SpfResult.SPF_RESULT_NEUTRAL]: "neutral",
  [SpfResult.SPF_RESULT_PASS]: "pass",
  [SpfResult.SPF_RESULT_FAIL]: "fail",
  [SpfResult.SPF_RESULT_SOFTFAIL]: "softfail",
  [SpfResult.SPF_RESULT_TEMPERROR]: "temperror",
  [SpfResult.SPF_RESULT_PERMERROR]: "permerror",
  [SpfResult.SPF_RESULT_UNSPECIFIED]: undefined,
  [SpfResult.UNRECOGNIZED]: undefined,
};

/** A verdict's result as a name; anything unrecognised is treated as temperror. */
export function resultName(result: SpfResult): SpfResultName {
  return wire[result] ?? "temperror";
}

export interface SpfPolicy {
  reject: SpfCondition;
  defer: SpfCondition;
}

/** The reply a verdict earns, or null to accept. */
export function spfReply(policy: SpfPolicy, result: SpfResultName, smtpComment: string): Reply | null {
  if (policy.reject.matches(result)) return reply(550, "5.7.23", smtpComment || `SPF check failed (${result})`);
  if (policy.defer.matches(result)) return reply(451, "4.7.24", `Temporary SPF validation error (${result})`);
  return null;
}
