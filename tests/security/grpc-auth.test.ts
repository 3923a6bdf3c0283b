/**
 * The gRPC callback and worker APIs refuse unauthenticated callers (issue 14).
 * The edge (EdgeCallback), the spf service (Spf.Check) and delivery-events
 * (Outcomes.Record) run as in production, through runService and their own
 * config schemas, with grpc.tls.require_client_cert (mTLS) and grpc.auth_token
 * both set. A caller with a client certificate but no token gets
 * UNAUTHENTICATED; a caller with the token but no client certificate does not
 * get past the TLS handshake; a caller with both is served.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { z } from "zod";
import { configSchema as eventsSchema, startDeliveryEvents } from "@postern/delivery-events";
import { configSchema as edgeSchema, startEdge } from "@postern/edge";
import { EdgeCallbackClient, OutcomesClient, RecordRequest, SpfCheckRequest, SpfClient, SpfVerdict } from "@postern/proto";
import { clientChannelOptions, runService, type ServiceContext, unaryCall } from "@postern/service-kit";
import { configSchema as spfSchema, startSpf } from "@postern/spf";
import { type Backend, freePort, LogSink, startNats } from "@postern/testing";

const TOKEN = "security-test-token-7f3a9c1e2b";

let dir: string;
let nats: Backend;
const logs = new LogSink();
const contexts: Array<ServiceContext<unknown>> = [];
const ports = { edge: 0, spf: 0, events: 0 };

function makeCerts(d: string): void {
  const f = (n: string): string => join(d, n);
  const openssl = (...args: string[]): void => void execFileSync("openssl", args, { stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "1", "-subj", "/CN=postern security test CA");
  for (const [name, ext] of [
    ["server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"],
    ["client", "extendedKeyUsage=clientAuth\n"],
  ] as const) {
    writeFileSync(f(`${name}.ext`), ext);
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${name}`);
    openssl("x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-out", f(`${name}.crt`), "-extfile", f(`${name}.ext`));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "postern-grpc-sec-"));
  makeCerts(dir);
  nats = await startNats();
  ports.edge = await freePort();
  ports.spf = await freePort();
  ports.events = await freePort();
  const f = (n: string): string => join(dir, n);
  const serverTls = { cert_file: f("server.crt"), key_file: f("server.key"), ca_file: f("ca.crt"), require_client_cert: true };
  const clientTls = { ca_file: f("ca.crt"), cert_file: f("client.crt"), key_file: f("client.key"), server_name: "localhost" };
  const memory = { storage: "memory" };
  const config = {
    log: { level: "info" },
    nats: { servers: [nats.url], jetstream: { mail: memory, events: memory, spool: memory, kv: memory } },
    edge: {
      smtp_listen: [`127.0.0.1:${await freePort()}`],
      grpc: { listen: `127.0.0.1:${ports.edge}`, tls: serverTls, auth_token: TOKEN },
      hostname: "edge.security.test",
      local_domains: ["localhost"],
    },
    spf: {
      grpc: { listen: `127.0.0.1:${ports.spf}`, tls: serverTls, auth_token: TOKEN },
      callback: { tls: clientTls, auth_token: TOKEN },
      // nothing answers here: checks end quickly as temperror
      dns: { servers: ["127.0.0.1:9"], timeout_ms: 200, attempts: 1 },
      check_timeout_ms: 500,
    },
    delivery_events: { grpc: { listen: `127.0.0.1:${ports.events}`, tls: serverTls, auth_token: TOKEN } },
  };
  const run = async <S extends z.ZodType>(name: string, schema: S, start: (ctx: ServiceContext<z.infer<S>>) => Promise<void>): Promise<void> => {
    contexts.push(await runService({ name, schema, config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: logs, start }));
  };
  await run("delivery-events", eventsSchema, startDeliveryEvents);
  await run("spf", spfSchema, startSpf);
  await run("edge", edgeSchema, startEdge);
}, 120_000);

afterAll(async () => {
  for (const ctx of contexts.reverse()) await ctx.shutdown.trigger("test finished");
  await nats?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

type Caller = "cert+token" | "cert only" | "token only" | "neither";
const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** Channel credentials and options for one kind of caller. */
function caller(kind: Caller): [grpc.ChannelCredentials, Partial<grpc.ClientOptions>] {
  const f = (n: string): Buffer => readFileSync(join(dir, n));
  const withCert = kind === "cert+token" || kind === "cert only";
  const withToken = kind === "cert+token" || kind === "token only";
  const creds = withCert ? grpc.credentials.createSsl(f("ca.crt"), f("client.key"), f("client.crt")) : grpc.credentials.createSsl(f("ca.crt"));
  return [creds, { "grpc.ssl_target_name_override": "localhost", ...clientChannelOptions(undefined, withToken ? { auth_token: TOKEN } : undefined) }];
}

/** The status code of one call (0 for OK). */
async function statusOf(call: (kind: Caller) => Promise<unknown>, kind: Caller): Promise<number> {
  try {
    await call(kind);
    return grpc.status.OK;
  } catch (err) {
    return (err as grpc.ServiceError).code;
  }
}

const apis: Array<[string, (kind: Caller) => Promise<unknown>]> = [
  [
    "EdgeCallback.ReportSpf",
    (kind) => {
      const c = new EdgeCallbackClient(`127.0.0.1:${ports.edge}`, ...caller(kind));
      closers.push(() => c.close());
      return unaryCall(c.reportSpf.bind(c), SpfVerdict.fromPartial({ txnId: "no-such-txn" }), 10_000);
    },
  ],
  [
    // the long-lived verdict stream passes the same interceptors and TLS as the unary calls
    "EdgeCallback.StreamSpfVerdicts",
    (kind) => {
      const c = new EdgeCallbackClient(`127.0.0.1:${ports.edge}`, ...caller(kind));
      closers.push(() => c.close());
      return new Promise((resolve, reject) => {
        const call = c.streamSpfVerdicts((err, ack) => (err ? reject(err) : resolve(ack)));
        call.write({ verdicts: [SpfVerdict.fromPartial({ txnId: "no-such-txn" })] });
        call.end();
      });
    },
  ],
  [
    "Spf.Check",
    (kind) => {
      const c = new SpfClient(`127.0.0.1:${ports.spf}`, ...caller(kind));
      closers.push(() => c.close());
      return unaryCall(c.check.bind(c), SpfCheckRequest.fromPartial({ ip: "192.0.2.1", helo: "h.example", sender: "a@example.com" }), 10_000);
    },
  ],
  [
    "Outcomes.Record",
    (kind) => {
      const c = new OutcomesClient(`127.0.0.1:${ports.events}`, ...caller(kind));
      closers.push(() => c.close());
      return unaryCall(c.record.bind(c), RecordRequest.fromPartial({}), 10_000);
    },
  ],
];

describe.each(apis)("%s", (_name, call) => {
  test("refuses a caller with a client certificate but without the token: UNAUTHENTICATED", async () => {
    expect(await statusOf(call, "cert only")).toBe(grpc.status.UNAUTHENTICATED);
  }, 30_000);

  test("refuses a caller without a client certificate, token or not (mTLS handshake)", async () => {
    for (const kind of ["token only", "neither"] as const) {
      const code = await statusOf(call, kind);
      expect({ kind, code }).toEqual({ kind, code: grpc.status.UNAVAILABLE });
    }
  }, 30_000);

  test("serves a caller with both", async () => {
    const code = await statusOf(call, "cert+token");
    // the request itself may be refused on its merits (an empty event), never for who sent it
    expect([grpc.status.UNAUTHENTICATED, grpc.status.UNAVAILABLE, grpc.status.PERMISSION_DENIED]).not.toContain(code);
  }, 30_000);
});

describe("logs", () => {
  // after the calls above: the services have logged their start and the refused calls
  test("the token appears in no log line", () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    expect(logs.lines.map((l) => JSON.stringify(l)).join("\n")).not.toContain(TOKEN);
  });
});
