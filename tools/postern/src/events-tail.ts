import * as grpc from "@grpc/grpc-js";
import { EventsClient, Event, SubscribeRequest } from "@postern/proto";
import { clientCredentials } from "@postern/service-kit";
import { formatEventLine } from "./format";
import { cliChannelOptions } from "./grpc-client";

export interface TailOptions {
  server: string;
  names: string[];
  senderDomains?: string[];
  recipientDomains?: string[];
  fromStart: boolean;
  /** Start at the first event stored at or after this time. */
  since?: Date;
  afterSequence: string;
  messageId: string;
  /** A durable subscription: the server keeps its position under this name between runs. */
  durable?: string;
  json: boolean;
  /** Stop after this many events (0: follow until interrupted). */
  count: number;
  /** Give up after this many seconds (0: never). */
  timeoutSeconds: number;
  tls?: { ca_file?: string; cert_file?: string; key_file?: string };
  /** The server's gRPC token, when it wants one. */
  token?: string | undefined;
  out: (line: string) => void;
  err: (line: string) => void;
}

const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.INTERNAL, grpc.status.UNKNOWN]);

/**
 * Follows Events.Subscribe, printing one line per event. When the stream
 * breaks it reconnects with after_sequence set to the last event seen, so no
 * event is skipped or printed twice (with --durable the server also keeps the
 * position between runs). Resolves with the exit code.
 */
export function tailEvents(options: TailOptions): Promise<number> {
  const client = new EventsClient(options.server, clientCredentials(options.tls), cliChannelOptions(options.token));
  let after = options.afterSequence;
  let seen = 0;
  let retryMs = 250;
  let finished = false;
  let current: grpc.ClientReadableStream<Event> | undefined;

  return new Promise<number>((resolve) => {
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      process.off("SIGINT", interrupt);
      current?.cancel();
      client.close();
      resolve(code);
    };
    const interrupt = (): void => finish(0);
    process.once("SIGINT", interrupt);
    const timer = options.timeoutSeconds > 0
      ? setTimeout(() => {
          options.err(`postern: no ${options.count > 0 ? `${options.count} events` : "end"} within ${options.timeoutSeconds}s (saw ${seen})`);
          finish(options.count > 0 ? 1 : 0);
        }, options.timeoutSeconds * 1000)
      : undefined;

    const open = (): void => {
      // A resume (after an event was seen) names the last sequence printed, so nothing is skipped or repeated.
      const first = after === "";
      const request = SubscribeRequest.fromPartial({
        names: options.names,
        senderDomains: options.senderDomains ?? [],
        recipientDomains: options.recipientDomains ?? [],
        fromStart: options.fromStart && first,
        startTime: first ? options.since : undefined,
        afterSequence: after,
        messageId: options.messageId,
        durableName: options.durable ?? "",
      });
      const stream = client.subscribe(request);
      current = stream;
      stream.on("data", (event: Event) => {
        retryMs = 250;
        after = event.sequence;
        options.out(options.json ? JSON.stringify(Event.toJSON(event)) : formatEventLine(event));
        seen++;
        if (options.count > 0 && seen >= options.count) finish(0);
      });
      stream.on("error", (err: grpc.ServiceError) => {
        if (finished || err.code === grpc.status.CANCELLED) return;
        if (!RETRYABLE.has(err.code)) {
          options.err(`postern: ${err.details || err.message}`);
          finish(2);
          return;
        }
        options.err(`postern: event stream from ${options.server} interrupted (${err.details || err.message}); retrying in ${retryMs} ms`);
        setTimeout(open, retryMs).unref();
        retryMs = Math.min(retryMs * 2, 5000);
      });
      stream.on("end", () => {
        if (finished) return;
        setTimeout(open, retryMs).unref();
      });
    };
    open();
  });
}
