import { Writable } from "node:stream";

/**
 * Collects the JSON lines a pino logger writes (runService's logDestination),
 * so tests assert on log records instead of scraping stdout.
 */
export class LogSink extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  private partial = "";

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    const text = this.partial + chunk.toString("utf8");
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}
