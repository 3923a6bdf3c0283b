/**
 * RFC 7208 section 6.2: the explanation for a fail. The exp= target is looked
 * up once, after the result is known; it is not a DNS-querying term and its
 * void answer does not count. Any problem (no domain, a DNS error, zero or
 * several TXT records, a syntax error or non-ASCII text) falls back to the
 * configured default explanation, which is itself an explain-string.
 */
import { type EvalContext, type ExpSource, expandTarget, MAX_EXPANSION, macroVars } from "./evaluate";
import { SMTP_TEXT_MAX } from "./headers";
import { expandMacros, type MacroString, parseMacroString } from "./macro";
import { isQueryable } from "./names";

async function published(ctx: EvalContext, exp: ExpSource): Promise<string | undefined> {
  const name = await expandTarget(ctx, exp.spec, exp.domain);
  if (!isQueryable(name)) return undefined;
  const outcome = await ctx.dns.txt(name);
  if (outcome.kind !== "answer" || outcome.records.length !== 1) return undefined;
  const parsed = parseMacroString((outcome.records[0] ?? []).join(""), "explanation");
  if (!parsed.ok) return undefined;
  return expandExplanation(ctx, parsed.value, exp.domain);
}

async function expandExplanation(ctx: EvalContext, text: MacroString, domain: string): Promise<string> {
  const vars = await macroVars(ctx, domain, text.usesP);
  return expandMacros(text.tokens, vars, Math.min(MAX_EXPANSION, SMTP_TEXT_MAX));
}

/** The explanation of a fail decided at `domain`, from its exp= or the default. */
export async function explain(ctx: EvalContext, exp: ExpSource | undefined, domain: string, fallback: MacroString): Promise<string> {
  const text = exp ? await published(ctx, exp) : undefined;
  return text ?? expandExplanation(ctx, fallback, domain);
}
