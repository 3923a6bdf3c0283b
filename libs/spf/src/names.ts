/**
 * Domain-name checks used by check_host(): RFC 7208 section 4.3 (malformed
 * domains give "none"), the toplabel rule of section 7.1 and the 253-octet
 * truncation of section 7.3. All checks are linear: no backtracking regexes
 * over hostile record text.
 */

/** Drop one trailing dot. */
export function stripDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * RFC 7208 toplabel: `( *alphanum ALPHA *alphanum ) /
 * ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`.
 */
export function isToplabel(label: string): boolean {
  if (label.length === 0) return false;
  let letter = false;
  let dash = false;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c === 0x2d) {
      dash = true;
    } else if (isAlnum(c)) {
      if (c > 0x39) letter = true;
    } else {
      return false;
    }
  }
  if (!dash) return letter;
  return isAlnum(label.charCodeAt(0)) && isAlnum(label.charCodeAt(label.length - 1));
}

/** The literal end of a domain-spec: `"." toplabel [ "." ]`. */
export function endsWithToplabel(literal: string): boolean {
  const text = stripDot(literal);
  const dot = text.lastIndexOf(".");
  return dot !== -1 && isToplabel(text.slice(dot + 1));
}

/** A name a query can be composed from: printable ASCII, 1-63 octet labels, at most 253 in all. */
export function isQueryable(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  let start = 0;
  for (;;) {
    const dot = name.indexOf(".", start);
    const end = dot === -1 ? name.length : dot;
    if (end - start < 1 || end - start > 63) return false;
    if (dot === -1) return true;
    start = dot + 1;
  }
}

/**
 * An identity domain check_host() can start from (section 4.3): queryable,
 * multi-label, visible ASCII only, not an address literal, and ending in a
 * toplabel (so `[192.0.2.1]` and `192.0.2.1` are not domains).
 */
export function isIdentityDomain(name: string): boolean {
  if (!isQueryable(name) || !name.includes(".")) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return isToplabel(name.slice(name.lastIndexOf(".") + 1));
}

/** Section 7.3: remove leftmost labels until the name fits in 253 octets. */
export function truncateName(name: string): string {
  let out = name;
  while (out.length > 253) {
    const dot = out.indexOf(".");
    if (dot === -1) return out;
    out = out.slice(dot + 1);
  }
  return out;
}

/** True when `name` equals `domain` or is a subdomain of it (case-insensitive). */
export function isWithin(name: string, domain: string): boolean {
  const n = stripDot(name).toLowerCase();
  const d = stripDot(domain).toLowerCase();
  return n === d || n.endsWith(`.${d}`);
}
