import { parseArgs } from "node:util";
import { migratePostgres } from "@postern/delivery-events";
import { checkConfig } from "./config-check";
import { dlqList, dlqReplay } from "./dlq";
import { tailEvents } from "./events-tail";
import { cliToken, TOKEN_USAGE } from "./grpc-client";
import { parseFilterArgs, parseSince } from "./filter-args";
import { natsConfig, withBus } from "./nats-connect";
import { queueAct, queueList, queueShow } from "./queue";
import { SPF_CHECK_USAGE, spfCheck } from "./spf-check";

export const USAGE = `usage:
  postern events tail [--server HOST:PORT] [--filter EXPR]... [--name PATTERN]... [--message-id ID]
                      [--from-start | --after SEQ | --since TIME] [--durable NAME]
                      [--json] [--count N] [--timeout SECONDS] [--tls-ca FILE] [--tls-cert FILE] [--tls-key FILE]
                      [--token-file FILE]
      Follow delivery events (Events.Subscribe on delivery-events; default server
      $POSTERN_EVENTS_ADDRESS or 127.0.0.1:50054). EXPR: name=PATTERN, sender=DOMAIN,
      recipient=DOMAIN, message=ID, comma-separated or repeated (PATTERN: msg:delivery, msg:*,
      msg:>; DOMAIN: example.org, *.example.org). TIME: ISO 8601 or 90s, 15m, 2h, 7d ago.
      --durable keeps the position on the server between runs. A server with
      delivery_events.grpc.auth_token wants the same token: ${TOKEN_USAGE}.
  postern events migrate --postgres URL
      Create or upgrade the Postgres table postern_delivery_events (the sink's schema).
  postern webhooks dlq list [--endpoint NAME] [--limit N] [--json] [--config FILE] [--nats URL]
      List webhook events in the dead-letter stream EVENTS_DLQ.
  postern webhooks dlq replay (--endpoint NAME | --seq N... | --all) [--config FILE] [--nats URL]
      Deliver dead letters again (they move to EVENTS_REPLAY, the endpoint's worker sends them).
      NATS from --nats, else the nats section of --config FILE or $POSTERN_CONFIG.
  postern queue list [--limit N] [--json] [--config FILE] [--nats URL]
      Messages waiting in JetStream MAIL with each recipient's state (like exim -bp; D = done).
  postern queue show ID [--config FILE] [--nats URL]
      Envelope, delivery state and headers of one message.
  postern queue retry|bounce|remove ID... [--config FILE] [--nats URL]
      Deliver now; fail the pending recipients with a bounce to the sender; or without one.
  postern config check FILE
      Validate a stack configuration file (with POSTERN_* environment overrides) for every service.
${SPF_CHECK_USAGE}`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

function parse<O extends Options>(args: string[], options: O, io: CliIo): ReturnType<typeof parseArgs<{ args: string[]; options: O }>>["values"] | undefined {
  try {
    return parseArgs({ args, options }).values;
  } catch (err) {
    io.err(`postern: ${(err as Error).message}\n${USAGE}`);
    return undefined;
  }
}

function numbers(values: Record<string, string | undefined>, io: CliIo): boolean {
  for (const [option, value] of Object.entries(values)) {
    if (value !== undefined && !/^\d*$/.test(value)) {
      io.err(`postern: --${option} must be a non-negative integer, got ${JSON.stringify(value)}`);
      return false;
    }
  }
  return true;
}

const TAIL_OPTIONS = {
  server: { type: "string" },
  name: { type: "string", multiple: true },
  filter: { type: "string", multiple: true },
  "from-start": { type: "boolean" },
  after: { type: "string" },
  since: { type: "string" },
  durable: { type: "string" },
  "message-id": { type: "string" },
  json: { type: "boolean" },
  count: { type: "string" },
  timeout: { type: "string" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "token-file": { type: "string" },
} as const;

async function tail(rest: string[], io: CliIo): Promise<number> {
  const values = parse(rest, TAIL_OPTIONS, io);
  if (!values || !numbers({ count: values.count, timeout: values.timeout, after: values.after }, io)) return 2;
  const filter = parseFilterArgs(values.filter ?? [], { names: values.name ?? [], messageId: values["message-id"] ?? "" });
  if ("error" in filter) return (io.err(`postern: ${filter.error}`), 2);
  const since = values.since === undefined ? undefined : parseSince(values.since, new Date());
  if (since !== undefined && "error" in since) return (io.err(`postern: ${since.error}`), 2);
  const tls = values["tls-ca"] || values["tls-cert"] ? { ca_file: values["tls-ca"], cert_file: values["tls-cert"], key_file: values["tls-key"] } : undefined;
  const token = cliToken(values["token-file"], io.env);
  if ("error" in token) return (io.err(`postern: ${token.error}`), 2);
  return tailEvents({
    server: values.server ?? io.env.POSTERN_EVENTS_ADDRESS ?? "127.0.0.1:50054",
    names: filter.names,
    senderDomains: filter.senderDomains,
    recipientDomains: filter.recipientDomains,
    messageId: filter.messageId,
    fromStart: values["from-start"] ?? false,
    since,
    afterSequence: values.after ?? "",
    durable: values.durable,
    json: values.json ?? false,
    count: Number(values.count ?? "0"),
    timeoutSeconds: Number(values.timeout ?? "0"),
    tls,
    token: token.token,
    out: io.out,
    err: io.err,
  });
}

async function migrate(rest: string[], io: CliIo): Promise<number> {
  const values = parse(rest, { postgres: { type: "string" } } as const, io);
  if (!values) return 2;
  const url = values.postgres ?? io.env.POSTERN_POSTGRES_URL;
  if (!url) return (io.err(`postern: events migrate needs --postgres URL\n${USAGE}`), 2);
  const applied = await migratePostgres(url);
  io.out(applied.length > 0 ? `applied migration(s) ${applied.join(", ")}: postern_delivery_events is up to date` : "postern_delivery_events is up to date");
  return 0;
}

const DLQ_OPTIONS = {
  endpoint: { type: "string" },
  seq: { type: "string", multiple: true },
  all: { type: "boolean" },
  limit: { type: "string" },
  json: { type: "boolean" },
  config: { type: "string" },
  nats: { type: "string" },
} as const;

async function dlq(action: string | undefined, rest: string[], io: CliIo): Promise<number> {
  const values = parse(rest, DLQ_OPTIONS, io);
  if (!values || !numbers({ limit: values.limit, ...Object.fromEntries((values.seq ?? []).map((s, i) => [`seq[${i}]`, s])) }, io)) return 2;
  const sequences = (values.seq ?? []).map(Number);
  if (action === "replay" && !values.all && values.endpoint === undefined && sequences.length === 0) {
    return (io.err("postern: webhooks dlq replay needs --endpoint NAME, --seq N or --all"), 2);
  }
  const config = natsConfig({ config: values.config, nats: values.nats, env: io.env });
  return withBus(config, io.err, (bus) =>
    action === "list"
      ? dlqList(bus, { endpoint: values.endpoint, limit: values.limit ? Number(values.limit) : undefined, json: values.json ?? false, out: io.out })
      : dlqReplay(bus, { endpoint: values.endpoint, sequences, out: io.out, err: io.err }),
  );
}

const QUEUE_OPTIONS = { limit: { type: "string" }, json: { type: "boolean" }, config: { type: "string" }, nats: { type: "string" } } as const;

async function queue(action: string | undefined, rest: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: QUEUE_OPTIONS, allowPositionals: true });
  } catch (err) {
    return (io.err(`postern: ${(err as Error).message}\n${USAGE}`), 2);
  }
  const { values, positionals } = parsed;
  if (!numbers({ limit: values.limit }, io)) return 2;
  if (action !== "list" && positionals.length === 0) return (io.err(`postern: queue ${action ?? ""} needs a message id\n${USAGE}`), 2);
  const config = natsConfig({ config: values.config, nats: values.nats, env: io.env });
  return withBus(config, io.err, (bus) => {
    if (action === "list") return queueList(bus, { limit: values.limit ? Number(values.limit) : undefined, json: values.json ?? false, out: io.out });
    if (action === "show") return queueShow(bus, positionals[0] ?? "", io);
    return queueAct(bus, action as "retry" | "bounce" | "remove", positionals, io);
  });
}

/** Runs the CLI and resolves with its exit code (0 ok, 1 check failed or not found, 2 usage or connection error). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [group, action, ...rest] = argv;
  if (group === "events" && action === "tail") return tail(rest, io);
  if (group === "events" && action === "migrate") return migrate(rest, io);
  if (group === "spf" && action === "check") return spfCheck(rest, io);
  if (group === "queue" && (action === "list" || action === "show" || action === "retry" || action === "bounce" || action === "remove")) return queue(action, rest, io);
  if (group === "webhooks" && action === "dlq" && (rest[0] === "list" || rest[0] === "replay")) return dlq(rest[0], rest.slice(1), io);
  if (group === "config" && action === "check" && rest.length === 1 && rest[0] !== undefined) {
    return checkConfig(rest[0], io.env, io.out);
  }
  io.err(USAGE);
  return group === "help" || group === "--help" || group === "-h" ? 0 : 2;
}
