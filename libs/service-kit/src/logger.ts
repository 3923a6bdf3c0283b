import { pino, type DestinationStream, type Logger } from "pino";

/** pino JSON logger with base { service: name }; writes to stdout unless `destination` is given. */
export function createLogger(opts: { name: string; level?: string; destination?: NodeJS.WritableStream }): Logger {
  const options = { level: opts.level ?? "info", base: { service: opts.name } };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination as DestinationStream);
}
