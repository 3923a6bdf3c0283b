import { type ObjectStore } from "@postern/bus";
import { type MailRecord } from "@postern/proto";
import { splitAddress } from "@postern/smtp";
import { pickRoute, type Route } from "./routes";
import { isFinal, type DeliveryState } from "./state";
import { Errno, type DeliveryJob, type RcptResult, type Target, type Transport } from "./types";

/** The body of a record: inline bytes or the spool object; undefined when the spool object is gone. Throws on I/O failure. */
export async function loadBody(record: MailRecord, spool: () => Promise<ObjectStore>): Promise<Buffer | undefined> {
  const location = record.body?.location;
  if (location === undefined) return undefined;
  // The decoder already copied the bytes out of the NATS message (and nothing writes to a body):
  // a view, not another copy of up to 256 KiB per delivery.
  if (location.$case === "inline") return location.value;
  const blob = await (await spool()).getBlob(location.value);
  return blob === null ? undefined : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
}

/** Recipients that have no final outcome yet, in record order. */
export function pendingTargets(record: MailRecord, state: DeliveryState): Target[] {
  return record.recipients.flatMap((r, pos) => {
    if (isFinal(state.rcpts[String(pos)])) return [];
    const { localPart, domain } = splitAddress(r.address);
    return [{ pos, address: r.address, localPart, domain: domain.toLowerCase(), notify: r.notify, orcpt: r.orcpt }];
  });
}

export interface RouteGroup {
  domain: string;
  routerName: string;
  route: Route | undefined;
  targets: Target[];
}

/** Groups targets by domain, each with its route (undefined: unrouteable). */
export function groupByDomain(targets: readonly Target[], routes: ReadonlyMap<string, Route>): RouteGroup[] {
  const groups = new Map<string, RouteGroup>();
  for (const t of targets) {
    let g = groups.get(t.domain);
    if (!g) {
      const picked = pickRoute(routes, t.domain);
      g = { domain: t.domain, routerName: picked?.name ?? "", route: picked?.route, targets: [] };
      groups.set(t.domain, g);
    }
    g.targets.push(t);
  }
  return [...groups.values()];
}

/** Router name of a quarantined record's deliveries (events' router_name, the log line's R=). */
export const QUARANTINE_ROUTER = "quarantine";

/**
 * The groups of one record's attempt. A record the edge accepted under a DMARC quarantine
 * disposition (MailRecord.quarantine) goes, every recipient of it, through `quarantine` when
 * one is configured, so it is filed apart instead of reaching the mailbox; otherwise each
 * domain takes its own route. Still grouped by domain: transports limit per domain.
 */
export function routeGroups(
  targets: readonly Target[],
  routes: ReadonlyMap<string, Route>,
  quarantine: { route: Route | undefined; quarantined: boolean },
): RouteGroup[] {
  if (!quarantine.quarantined || quarantine.route === undefined) return groupByDomain(targets, routes);
  const route = quarantine.route;
  return groupByDomain(targets, new Map()).map((g) => ({ ...g, routerName: QUARANTINE_ROUTER, route }));
}

export interface GroupOutcome {
  routerName: string;
  transportName: string;
  results: Array<{ target: Target; result: RcptResult }>;
}

export type TransportFor = (route: Route) => { name: string; deliver: Transport };

/** Runs one group through its transport; unrouteable recipients fail, a throwing transport defers. */
export async function deliverGroup(group: RouteGroup, job: Omit<DeliveryJob, "recipients">, transportFor: TransportFor): Promise<GroupOutcome> {
  if (group.route === undefined) {
    const result: RcptResult = { status: "failed", errno: Errno.NoRouter, errstr: "Unrouteable address" };
    return { routerName: "", transportName: "", results: group.targets.map((target) => ({ target, result })) };
  }
  const transport = transportFor(group.route);
  let results: RcptResult[];
  try {
    results = await transport.deliver({ ...job, recipients: group.targets, domain: group.domain });
  } catch (err) {
    const errstr = `transport ${transport.name} failed: ${err instanceof Error ? err.message : String(err)}`;
    results = group.targets.map(() => ({ status: "deferred", errno: 0, errstr }));
  }
  return {
    routerName: group.routerName,
    transportName: transport.name,
    results: group.targets.map((target, i) => ({
      target,
      result: results[i] ?? { status: "deferred", errno: 0, errstr: "transport gave no result" },
    })),
  };
}

/** Delay before the next attempt after `attempt` deferred attempts: schedule[attempt-1], the last value repeating. */
export function retryDelayMs(scheduleSeconds: readonly number[], attempt: number): number {
  const i = Math.min(Math.max(attempt, 1), scheduleSeconds.length) - 1;
  return (scheduleSeconds[i] ?? 60) * 1000;
}
