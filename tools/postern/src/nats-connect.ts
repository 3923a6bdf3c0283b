import { type Bus, connectBus, type NatsConfig } from "@postern/bus";
import { configSchema as deliveryEventsSchema } from "@postern/delivery-events";
import { loadConfig } from "@postern/service-kit";

/**
 * The NATS connection of the stack, for commands that read JetStream
 * directly: the `nats` section of --config FILE (or $POSTERN_CONFIG, with
 * POSTERN_* overrides), servers replaced by --nats URL[,URL] when given.
 */
export function natsConfig(opts: { config?: string; nats?: string; env: NodeJS.ProcessEnv }): NatsConfig {
  const file = opts.config ?? opts.env.POSTERN_CONFIG;
  const config = loadConfig(deliveryEventsSchema, { file: file || undefined, env: opts.env });
  const servers = opts.nats?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return servers && servers.length > 0 ? { ...config.nats, servers, max_reconnect_attempts: 0 } : { ...config.nats, max_reconnect_attempts: 0 };
}

export async function withBus<T>(config: NatsConfig, err: (line: string) => void, run: (bus: Bus) => Promise<T>): Promise<T> {
  const logger = { info: () => undefined, warn: (_o: object, msg?: string) => err(`postern: ${msg ?? "NATS warning"}`), error: (_o: object, msg?: string) => err(`postern: ${msg ?? "NATS error"}`) };
  const bus = await connectBus(config, { name: "postern-cli", logger });
  try {
    return await run(bus);
  } finally {
    await bus.drain();
  }
}
