import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { configSchema, type DeliveryEventsConfig, startDeliveryEvents } from "@postern/delivery-events";
import { Event, OutcomesClient } from "@postern/proto";
import { clientChannelOptions, runService, type ServiceContext, unaryCall } from "@postern/service-kit";
import { type Backend, freePort, LogSink, startNats } from "@postern/testing";
import { cliWith } from "../support/cli";

/** `postern events tail` against a delivery-events whose gRPC API wants a token (delivery_events.grpc.auth_token). */
describe("postern events tail against a delivery-events that wants a token", () => {
  const TOKEN = "events-cli-token-0123456789";
  let nats: Backend;
  let service: ServiceContext<DeliveryEventsConfig>;
  let address: string;
  const dir = mkdtempSync(join(tmpdir(), "postern-events-token-"));
  const tokenFile = join(dir, "token");

  beforeAll(async () => {
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    nats = await startNats();
    address = `127.0.0.1:${await freePort()}`;
    service = await runService({
      name: "delivery-events",
      schema: configSchema,
      config: {
        nats: { servers: [nats.url], jetstream: { events: { storage: "memory" } } },
        delivery_events: { grpc: { listen: address, auth_token: TOKEN }, http: { port: 0 }, dead_letter: { storage: "memory" } },
      },
      env: {},
      installSignalHandlers: false,
      exitOnError: false,
      logDestination: new LogSink(),
      start: startDeliveryEvents,
    });
    const outcomes = new OutcomesClient(address, grpc.credentials.createInsecure(), clientChannelOptions(undefined, { auth_token: TOKEN }));
    try {
      await unaryCall(outcomes.record.bind(outcomes), { event: Event.fromPartial({ id: "t1", name: "msg:delivery", deliveryDomain: "example.net" }), events: [] }, 15_000);
    } finally {
      outcomes.close();
    }
  }, 60_000);

  afterAll(async () => {
    await service?.shutdown.trigger("test finished");
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const tail = (env: NodeJS.ProcessEnv, ...extra: string[]) => cliWith(env, "events", "tail", "--server", address, "--from-start", "--count", "1", "--timeout", "10", ...extra);

  it("is refused without the token, and follows with --token-file, $POSTERN_GRPC_TOKEN_FILE or $POSTERN_GRPC_TOKEN", async () => {
    const refused = await tail({}, "--timeout", "3");
    expect(refused.code).not.toBe(0);
    expect(refused.out).toEqual([]);
    expect(refused.err.join("\n")).toMatch(/missing or invalid authorization token/);
    for (const [env, extra] of [
      [{}, ["--token-file", tokenFile]],
      [{ POSTERN_GRPC_TOKEN_FILE: tokenFile }, []],
      [{ POSTERN_GRPC_TOKEN: TOKEN }, []],
    ] as const) {
      const r = await tail(env, ...extra);
      expect(r).toMatchObject({ code: 0 });
      expect(r.out[0]).toMatch(/ msg:delivery .*domain=example\.net/);
    }
  }, 60_000);

  it("says which option is wrong when the token file cannot be read, without a call", async () => {
    const r = await tail({}, "--token-file", join(dir, "missing"));
    expect(r.code).toBe(2);
    expect(r.err.join("\n")).toMatch(/auth_token_file: cannot read .*missing/);
  });
});
