import { Writable } from "node:stream";
import { type Logger } from "pino";
import { createLogger } from "./logger";

type Line = Record<string, unknown>;

/** A stream that keeps the JSON log records written to it (tests only; not exported from the package). */
export function memoryDestination(): { destination: Writable; lines: Line[] } {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line) as Line);
      cb();
    },
  });
  return { destination, lines };
}

export function memoryLogger(name = "test"): { logger: Logger; lines: Line[] } {
  const { destination, lines } = memoryDestination();
  return { logger: createLogger({ name, level: "debug", destination }), lines };
}
