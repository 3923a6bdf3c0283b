/** The gRPC bearer token (issue 14): servers with auth_token refuse callers without it; clients send it. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ConfigError } from "./errors";
import { AUTH_METADATA_KEY, clientChannelOptions, clientCredentials, type GrpcServerHandle, readAuthToken, startGrpcServer, unaryCall } from "./grpc";
import { grpcClientConfigSchema, grpcServerConfigSchema } from "./schemas";
import { memoryLogger } from "./testlog";

interface Echo {
  text: string;
  sawAuthorization?: boolean;
}
const json = {
  serialize: (v: Echo): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): Echo => JSON.parse(b.toString("utf8")) as Echo,
};
const EchoService = {
  echo: {
    path: "/test.AuthEcho/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;
interface EchoClient extends grpc.Client {
  echo(request: Echo, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: (error: grpc.ServiceError | null, response: Echo) => void): grpc.ClientUnaryCall;
}
const EchoClient = grpc.makeGenericClientConstructor(EchoService, "test.AuthEcho") as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ClientOptions>,
) => EchoClient;
const echoImpl: grpc.UntypedServiceImplementation = {
  echo: (call: grpc.ServerUnaryCall<Echo, Echo>, cb: grpc.sendUnaryData<Echo>) =>
    cb(null, { text: call.request.text, sawAuthorization: call.metadata.get(AUTH_METADATA_KEY).length > 0 }),
};

const TOKEN = "s3cret-token-0123456789abcdef";

describe("gRPC bearer token", () => {
  const { logger, lines } = memoryLogger();
  let server: GrpcServerHandle;
  let dir: string;
  const clients: EchoClient[] = [];
  const call = (options: Partial<grpc.ClientOptions>, metadata?: grpc.Metadata): Promise<Echo> => {
    const client = new EchoClient(server.address, clientCredentials(), options);
    clients.push(client);
    return unaryCall(client.echo.bind(client), { text: "hi" }, 5_000, metadata);
  };
  const code = (p: Promise<unknown>): Promise<number | string> => p.then(() => "ok", (err: grpc.ServiceError) => err.code);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-grpc-auth-"));
    server = await startGrpcServer({ listen: "127.0.0.1:0", auth: grpcServerConfigSchema.parse({ auth_token: TOKEN }), logger, services: [[EchoService, echoImpl]] });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a call without a token, with a wrong one or a prefix of the right one is UNAUTHENTICATED", async () => {
    expect(await code(call({}))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await code(call(clientChannelOptions(undefined, { auth_token: "wrong-token-0123456789abcdef" })))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await code(call(clientChannelOptions(undefined, { auth_token: TOKEN.slice(0, -1) })))).toBe(grpc.status.UNAUTHENTICATED);
    const raw = new grpc.Metadata();
    raw.set(AUTH_METADATA_KEY, TOKEN); // without "Bearer "
    expect(await code(call({}, raw))).toBe(grpc.status.UNAUTHENTICATED);
  });

  test("the right token passes, and the handler never sees it", async () => {
    const reply = await call(clientChannelOptions(undefined, grpcClientConfigSchema.parse({ auth_token: TOKEN })));
    expect(reply).toEqual({ text: "hi", sawAuthorization: false });
  });

  test("auth_token_file is read and trimmed; the token is never logged", async () => {
    const file = join(dir, "token");
    writeFileSync(file, `${TOKEN}\n`);
    expect(readAuthToken({ auth_token_file: file })).toBe(TOKEN);
    expect(await call(clientChannelOptions(undefined, { auth_token_file: file }))).toEqual({ text: "hi", sawAuthorization: false });
    const text = lines.map((l) => JSON.stringify(l));
    expect(text.some((l) => l.includes(TOKEN))).toBe(false);
    expect(text.some((l) => l.includes('"auth":"token"'))).toBe(true);
  });

  test("configuration errors name the option, never the token", () => {
    const file = join(dir, "short");
    writeFileSync(file, "short\n");
    expect(() => readAuthToken({ auth_token: TOKEN, auth_token_file: file })).toThrow(ConfigError);
    expect(() => readAuthToken({ auth_token_file: file })).toThrow(/auth_token_file: .*at least 16/);
    expect(() => readAuthToken({ auth_token_file: join(dir, "missing") })).toThrow(/auth_token_file: cannot read/);
    const err = grpcServerConfigSchema.safeParse({ auth_token: "too-short" });
    expect(err.success).toBe(false);
    expect(JSON.stringify(err.error?.issues)).not.toContain("too-short");
    expect(readAuthToken({})).toBeUndefined();
  });
});
