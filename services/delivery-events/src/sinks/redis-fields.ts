/**
 * One Redis stream entry per event: id, name, time (ISO 8601), sequence and
 * message_id always, then the non-empty TPDA fields under their Exim names,
 * then attributes as one JSON field. Pure.
 */
import type { Event } from "@postern/proto";

type ScalarKey = { [K in keyof Event]-?: Event[K] extends string | number ? K : never }[keyof Event];

const OPTIONAL: ReadonlyArray<[ScalarKey, string]> = [
  ["senderAddress", "sender_address"],
  ["deliveryIp", "delivery_ip"],
  ["deliveryPort", "delivery_port"],
  ["deliveryFqdn", "delivery_fqdn"],
  ["deliveryLocalPart", "delivery_local_part"],
  ["deliveryDomain", "delivery_domain"],
  ["deliveryConfirmation", "delivery_confirmation"],
  ["deferErrno", "defer_errno"],
  ["deferErrstr", "defer_errstr"],
  ["routerName", "router_name"],
  ["transportName", "transport_name"],
  ["host", "host"],
];

/** Field/value pairs, flattened for XADD key MAXLEN ~ n * f1 v1 f2 v2 ... */
export function streamFields(event: Event): string[] {
  const fields = ["id", event.id, "name", event.name, "time", (event.time ?? new Date(0)).toISOString(), "sequence", event.sequence, "message_id", event.messageId];
  for (const [key, field] of OPTIONAL) {
    const value = event[key];
    if (value === "" || value === 0) continue;
    fields.push(field, String(value));
  }
  if (Object.keys(event.attributes).length > 0) fields.push("attributes", JSON.stringify(event.attributes));
  return fields;
}
