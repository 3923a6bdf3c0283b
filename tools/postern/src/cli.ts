import { parseArgs } from "node:util";
import { checkConfig } from "./config-check";
import { tailEvents } from "./events-tail";

export const USAGE = `usage:
  postern events tail [--server HOST:PORT] [--name PATTERN]... [--from-start | --after SEQ]
                      [--message-id ID] [--json] [--count N] [--timeout SECONDS]
                      [--tls-ca FILE] [--tls-cert FILE] [--tls-key FILE]
      Follow delivery events (Events.Subscribe on delivery-events; default server
      $POSTERN_EVENTS_ADDRESS or 127.0.0.1:50054). PATTERN: msg:delivery, msg:*, msg:>.
  postern config check FILE
      Validate a stack configuration file (with POSTERN_* environment overrides) for every service.
`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Runs the CLI and resolves with its exit code (0 ok, 1 check failed, 2 usage or connection error). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [group, action, ...rest] = argv;
  if (group === "events" && action === "tail") {
    let values;
    try {
      ({ values } = parseArgs({
        args: rest,
        options: {
          server: { type: "string" },
          name: { type: "string", multiple: true },
          "from-start": { type: "boolean" },
          after: { type: "string" },
          "message-id": { type: "string" },
          json: { type: "boolean" },
          count: { type: "string" },
          timeout: { type: "string" },
          "tls-ca": { type: "string" },
          "tls-cert": { type: "string" },
          "tls-key": { type: "string" },
        },
      }));
    } catch (err) {
      io.err(`postern: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    const numbers = { count: values.count ?? "0", timeout: values.timeout ?? "0", after: values.after ?? "" };
    for (const [option, value] of Object.entries(numbers)) {
      if (!/^\d*$/.test(value)) {
        io.err(`postern: --${option} must be a non-negative integer, got ${JSON.stringify(value)}`);
        return 2;
      }
    }
    const tls = values["tls-ca"] || values["tls-cert"]
      ? { ca_file: values["tls-ca"], cert_file: values["tls-cert"], key_file: values["tls-key"] }
      : undefined;
    return tailEvents({
      server: values.server ?? io.env.POSTERN_EVENTS_ADDRESS ?? "127.0.0.1:50054",
      names: values.name ?? [],
      fromStart: values["from-start"] ?? false,
      afterSequence: numbers.after,
      messageId: values["message-id"] ?? "",
      json: values.json ?? false,
      count: Number(numbers.count),
      timeoutSeconds: Number(numbers.timeout),
      tls,
      out: io.out,
      err: io.err,
    });
  }
  if (group === "config" && action === "check" && rest.length === 1 && rest[0] !== undefined) {
    return checkConfig(rest[0], io.env, io.out);
  }
  io.err(USAGE);
  return group === "help" || group === "--help" || group === "-h" ? 0 : 2;
}
