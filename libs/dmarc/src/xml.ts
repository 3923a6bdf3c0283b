/** Minimal XML text escaping for the aggregate report (element content only). */
export function xmlText(text: string): string {
  // Characters XML 1.0 does not allow are dropped (control characters from hostile input).
  const allowed = text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, "");
  return allowed.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function el(name: string, value: string | number | undefined, indent: string): string {
  return value === undefined ? "" : `${indent}<${name}>${xmlText(String(value))}</${name}>\n`;
}
