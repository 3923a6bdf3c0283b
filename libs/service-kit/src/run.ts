import { parseArgs } from "node:util";
import { type Logger } from "pino";
import { type Registry } from "prom-client";
import { type z } from "zod";
import { CONFIG_ENV, deepMerge, envOverrides, loadConfig, parseConfig } from "./config";
import { logEvents } from "./diagnostics";
import { ConfigError } from "./errors";
import { createHealth, type Health } from "./health";
import { startHttpServer } from "./http";
import { createLogger } from "./logger";
import { createMetrics } from "./metrics";
import { createShutdown, type Shutdown } from "./shutdown";

export interface ServiceContext<C> {
  name: string; // e.g. "edge"
  config: C;
  logger: Logger; // pino JSON, base { service: name }
  metrics: Registry; // prom-client, default metrics on, prefix "postern_"
  health: Health;
  shutdown: Shutdown;
  httpPort: number; // port actually bound for /metrics /healthz /readyz
}

export interface HttpAddress {
  host?: string;
  port?: number;
}

export interface RunServiceOptions<S extends z.ZodType> {
  name: string;
  schema: S;
  argv?: string[]; // default process.argv.slice(2)
  env?: NodeJS.ProcessEnv; // default process.env
  config?: unknown; // tests: raw config object instead of a file (env overrides still apply)
  installSignalHandlers?: boolean; // default true
  exitOnError?: boolean; // default true; false: rethrow instead of exiting
  /** Where /metrics /healthz /readyz listen. Default: config[name with "-" as "_"].http, else config.http, else 127.0.0.1:0. */
  http?: (config: z.infer<S>) => HttpAddress | undefined;
  /** Log destination (default stdout). */
  logDestination?: NodeJS.WritableStream;
  start: (ctx: ServiceContext<z.infer<S>>) => Promise<void>;
}

/** Exit status for a configuration error (sysexits EX_CONFIG). */
export const EXIT_CONFIG = 78;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function httpOf(section: unknown): HttpAddress | undefined {
  const http = isRecord(section) ? section.http : undefined;
  if (!isRecord(http)) return undefined;
  return { host: typeof http.host === "string" ? http.host : undefined, port: typeof http.port === "number" ? http.port : undefined };
}

/** config[section].http, else config.http, else undefined. */
export function defaultHttpAddress(config: unknown, name: string): HttpAddress | undefined {
  const section = isRecord(config) ? config[name.replace(/-/g, "_")] : undefined;
  return httpOf(section) ?? httpOf(config);
}

function configFile(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string", short: "c" } }, strict: false, allowPositionals: true });
  const value = values.config;
  if (typeof value === "boolean" || value === "") throw new ConfigError([{ path: "", message: "--config needs a file name" }]);
  return value ?? env[CONFIG_ENV];
}

function resolveConfig<S extends z.ZodType>(opts: RunServiceOptions<S>, env: NodeJS.ProcessEnv): z.infer<S> {
  if (opts.config !== undefined) return parseConfig(opts.schema, deepMerge(opts.config, envOverrides(env)));
  return loadConfig(opts.schema, { file: configFile(opts.argv ?? process.argv.slice(2), env), env });
}

function logLevel(config: unknown): string {
  const log = isRecord(config) ? config.log : undefined;
  return isRecord(log) && typeof log.level === "string" ? log.level : "info";
}

/**
 * Parses argv (--config FILE / -c FILE, or env POSTERN_CONFIG), loads config (ConfigError -> message on
 * stderr, exit 78), starts logger/metrics/http, runs start(ctx), then marks the service started;
 * start failure -> log, shutdown, exit 1. With exitOnError false both errors are rethrown instead.
 * Returns the context; tests end it with ctx.shutdown.trigger().
 */
export async function runService<S extends z.ZodType>(opts: RunServiceOptions<S>): Promise<ServiceContext<z.infer<S>>> {
  const exitOnError = opts.exitOnError ?? true;
  const env = opts.env ?? process.env;
  let config: z.infer<S>;
  try {
    config = resolveConfig(opts, env);
  } catch (err) {
    if (!exitOnError || !(err instanceof ConfigError)) throw err;
    process.stderr.write(`${opts.name}: ${err.message.split("\n").join(`\n${opts.name}: `)}\n`);
    process.exit(EXIT_CONFIG);
  }

  const logger = createLogger({ name: opts.name, level: logLevel(config), destination: opts.logDestination });
  const metrics = createMetrics(opts.name);
  const health = createHealth();
  const shutdown = createShutdown({ logger });
  shutdown.signal.addEventListener("abort", () => health.setShuttingDown(), { once: true });
  if (opts.installSignalHandlers ?? true) shutdown.add("signal handlers", shutdown.installSignalHandlers());

  try {
    const address = (opts.http ?? ((c: z.infer<S>) => defaultHttpAddress(c, opts.name)))(config);
    const http = await startHttpServer({ host: address?.host ?? "127.0.0.1", port: address?.port ?? 0, registry: metrics, health, logger });
    shutdown.add("http", () => http.close());
    const ctx: ServiceContext<z.infer<S>> = { name: opts.name, config, logger, metrics, health, shutdown, httpPort: http.port };
    await opts.start(ctx);
    health.setStarted();
    logger.info({ httpPort: http.port }, logEvents.started);
    return ctx;
  } catch (err) {
    logger.error({ err }, logEvents.startFailed);
    await shutdown.trigger("start failed");
    if (!exitOnError) throw err;
    process.exit(1);
  }
}
