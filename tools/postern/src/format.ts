import type { Event } from "@postern/proto";

type ScalarField = { [K in keyof Event]-?: Event[K] extends string | number ? K : never }[keyof Event];

const TPDA_FIELDS: ReadonlyArray<[ScalarField, string]> = [
  ["senderAddress", "sender"],
  ["deliveryLocalPart", "local_part"],
  ["deliveryDomain", "domain"],
  ["deliveryFqdn", "fqdn"],
  ["deliveryIp", "ip"],
  ["deliveryPort", "port"],
  ["routerName", "router"],
  ["transportName", "transport"],
  ["deliveryConfirmation", "confirmation"],
  ["deferErrno", "errno"],
  ["deferErrstr", "error"],
  ["host", "host"],
];

function quote(value: string): string {
  return /^[\w@.:/+-]+$/.test(value) ? value : JSON.stringify(value);
}

/** One line per event: time, sequence, name, message id, then the non-empty TPDA fields as key=value. */
export function formatEventLine(event: Event): string {
  const parts = [event.time ? event.time.toISOString() : "-", `seq=${event.sequence && event.sequence !== "0" ? event.sequence : "-"}`, event.name, `id=${event.messageId || "-"}`];
  for (const [field, label] of TPDA_FIELDS) {
    const value = event[field];
    if (value === "" || value === 0 || value === undefined) continue;
    parts.push(`${label}=${quote(String(value))}`);
  }
  for (const [key, value] of Object.entries(event.attributes).sort(([a], [b]) => a.localeCompare(b))) {
    parts.push(`${key}=${quote(value)}`);
  }
  return parts.join(" ");
}
