/**
 * SPF result names (RFC 7208 section 2.6) and the names configuration may use
 * for them, including Exim's deprecated aliases.
 */

export const spfResults = {
  none: "none",
  neutral: "neutral",
  pass: "pass",
  fail: "fail",
  softfail: "softfail",
  temperror: "temperror",
  permerror: "permerror",
} as const;
export type SpfResult = (typeof spfResults)[keyof typeof spfResults];

/** Exim's deprecated result names, still accepted in configuration. */
export const spfResultAliases = { err_perm: "permerror", err_temp: "temperror" } as const satisfies Record<string, SpfResult>;

export const spfIdentities = { mailfrom: "mailfrom", helo: "helo" } as const;
export type SpfIdentity = (typeof spfIdentities)[keyof typeof spfIdentities];

/**
 * A result name from configuration (case-insensitive, surrounding spaces
 * ignored), with `err_perm` → permerror and `err_temp` → temperror.
 * Returns undefined for anything else.
 */
export function parseSpfResultName(name: string): SpfResult | undefined {
  const key = name.trim().toLowerCase();
  if (Object.hasOwn(spfResults, key)) return spfResults[key as keyof typeof spfResults];
  if (Object.hasOwn(spfResultAliases, key)) return spfResultAliases[key as keyof typeof spfResultAliases];
  return undefined;
}

/** True for `err_perm` and `err_temp` (so configuration loaders can warn). */
export function isDeprecatedSpfResultName(name: string): boolean {
  return Object.hasOwn(spfResultAliases, name.trim().toLowerCase());
}
