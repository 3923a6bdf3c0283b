import { tlsLogPart } from "./tls-policy";
import { type RcptResult } from "./types";

export interface LogLineContext {
  messageId: string;
  recipient: string;
  routerName: string;
  transportName: string;
}

function hostPart(r: RcptResult): string {
  if (!r.host) return "";
  const ip = r.host.ip.includes(":") ? `[${r.host.ip}]` : r.host.ip;
  return r.host.ip.length > 0 ? ` H=${r.host.name} [${ip}]:${r.host.port}` : ` H=${r.host.name}:${r.host.port}`;
}

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}"`;
}

/**
 * Exim's delivery log line: `=>` delivered, `==` deferred, `**` failed.
 *   <id> => bob@example.org R=route:example.org T=smtp H=mx.example.org [192.0.2.1]:25 C="250 OK id=..."
 *   <id> == bob@example.org R=route:* T=smtp H=mx [192.0.2.1]:25 defer (-44): SMTP error ...
 *   <id> ** bob@example.org R=route:* T=smtp: SMTP error ... 550 ...
 */
export function deliveryLogLine(ctx: LogLineContext, r: RcptResult): string {
  const rt = `R=${ctx.routerName}${ctx.transportName.length > 0 ? ` T=${ctx.transportName}` : ""}`;
  const head = `${ctx.messageId} ${r.status === "delivered" ? "=>" : r.status === "deferred" ? "==" : "**"} ${ctx.recipient} ${rt}`;
  if (r.status === "delivered") return `${head}${hostPart(r)}${tlsLogPart(r.tls)} C=${quote(r.confirmation)}`;
  if (r.status === "deferred") return `${head}${hostPart(r)} defer (${r.errno}): ${r.errstr}`;
  return `${head}${hostPart(r)}: ${r.errstr}`;
}
