/**
 * RFC 7489 section 3.2: the Organizational Domain from the Public Suffix List.
 * The list is the one bundled in the `tldts` package (offline, updated with
 * each release of the package). Private-section entries (github.io,
 * blogspot.com ...) count by default, as libopendmarc does with the full list
 * file; `privateDomains: false` uses the ICANN section only.
 */
import { getDomain } from "tldts";

const base = { extractHostname: false, validateHostname: false, detectIp: false, mixedInputs: false } as const;

/** The Organizational Domain of a normalised domain name (the name itself when it is a public suffix). */
export function pslOrganizationalDomain(domain: string, privateDomains = true): string {
  if (domain.startsWith("[")) return domain;
  return getDomain(domain, { ...base, allowPrivateDomains: privateDomains }) ?? domain;
}
