// The spf service for bench/spf.mjs's round trip, in its own process as it is
// deployed (so the edge's side and the worker each have a core), answering from
// the in-memory zone mix. argv: <nats url>. Prints "ready" once consuming and
// the service's reply-error count on SIGTERM.
import { createRequire } from "node:module";
import { Writable } from "node:stream";
import { zone } from "./spf-zones.mjs";

const require = createRequire(new URL("../services/spf/package.json", import.meta.url));
const { createZoneDns } = require("@postern/libspf");
const { runService } = require("@postern/service-kit");
const { configSchema, startSpf } = require("@postern/spf");

const memory = { storage: "memory" };
const spf = await runService({
  name: "spf",
  schema: configSchema,
  config: {
    log: { level: "warn" },
    nats: { servers: [process.argv[2]], jetstream: { mail: memory, events: memory, spool: memory, kv: memory } },
    spf: { grpc: { listen: "127.0.0.1:0" }, receiver: "bench.test" },
  },
  env: {},
  installSignalHandlers: false,
  exitOnError: false,
  logDestination: new Writable({ write: (_c, _e, done) => done() }),
  start: (ctx) => startSpf(ctx, { dns: createZoneDns(zone) }),
});
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void (async () => {
    const replies = await spf.metrics.getSingleMetric("postern_spf_replies_total").get();
    const errors = replies.values.filter((v) => v.labels.outcome === "error").reduce((n, v) => n + v.value, 0);
    await spf.shutdown.trigger("bench finished");
    process.stdout.write(`reply-errors ${errors}\n`);
    process.exit(0);
  })();
});
