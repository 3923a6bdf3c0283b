import { Writable } from "node:stream";
import { type Logger } from "pino";
import { createLogger } from "./logger";

/** A logger whose JSON records are kept in `lines` (tests only; not exported from the package). */
export function memoryLogger(name = "test"): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ name, level: "debug", destination }), lines };
}
