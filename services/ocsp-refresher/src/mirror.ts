/**
 * An in-memory copy of a KV bucket, kept by a KV watch: the scheduler scans it without
 * reading KV, and the expiry metric reads the staples' times from it. Values that do not
 * decode are logged and left out. The watch is restarted after a failure.
 */
import type { KV } from "@postern/bus";
import type { Logger } from "pino";
import { logEvents } from "./diagnostics";

export interface Mirrored<T> {
  value: T;
  revision: number;
}

const RESTART_MS = 1000;

export class KvMirror<T> {
  readonly entries = new Map<string, Mirrored<T>>();
  private stopped = false;
  private stopWatch: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly kv: KV,
    private readonly bucket: string,
    private readonly decode: (key: string, bytes: Uint8Array) => T,
    private readonly logger: Logger,
    private readonly onChange: (key: string) => void = () => undefined,
  ) {}

  /** Starts watching; resolves once the watch is open (existing values arrive shortly after). */
  async start(): Promise<void> {
    const first = await this.kv.watch({ key: ">" });
    this.loop = this.run(first);
  }

  private async run(initial: Awaited<ReturnType<KV["watch"]>>): Promise<void> {
    let iter: Awaited<ReturnType<KV["watch"]>> | undefined = initial;
    while (!this.stopped) {
      try {
        iter ??= await this.kv.watch({ key: ">" });
        const current = iter;
        this.stopWatch = () => current.stop();
        for await (const entry of current) this.apply(entry.key, entry.operation, entry.value, entry.revision);
      } catch (err) {
        if (!this.stopped) this.logger.warn({ event: logEvents.watcherFailed, bucket: this.bucket, err }, "KV watch failed; restarting");
      }
      iter = undefined;
      if (!this.stopped) await new Promise((r) => setTimeout(r, RESTART_MS).unref());
    }
  }

  private apply(key: string, operation: string, bytes: Uint8Array, revision: number): void {
    if (operation !== "PUT") {
      this.entries.delete(key);
    } else {
      try {
        this.entries.set(key, { value: this.decode(key, bytes), revision });
      } catch (err) {
        this.entries.delete(key);
        this.logger.warn({ event: logEvents.recordInvalid, key, err }, "KV value does not decode; ignored");
      }
    }
    this.onChange(key);
  }

  get size(): number {
    return this.entries.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWatch?.();
    await this.loop;
  }
}
