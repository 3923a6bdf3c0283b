import type { NatsConfig } from "./config";
import { connectBus, type Bus } from "./connect";
import { ensureTopology } from "./topology";

/** The parts of a service runtime that attachBus needs (structural, so bus does not depend on service-kit). */
export interface BusHost {
  name: string;
  logger: Parameters<typeof connectBus>[1]["logger"];
  health: { addCheck(name: string, check: () => boolean): void };
  shutdown: { add(name: string, close: () => Promise<void>): void };
}

/**
 * Connects a service to NATS, makes sure the streams, buckets and spool exist,
 * reports the connection in readiness and drains it at shutdown.
 */
export async function attachBus(host: BusHost, config: NatsConfig): Promise<Bus> {
  const bus = await connectBus(config, { name: host.name, logger: host.logger });
  host.shutdown.add("nats", () => bus.drain());
  host.health.addCheck("nats", () => bus.isConnected());
  await ensureTopology(bus, config.jetstream);
  return bus;
}
