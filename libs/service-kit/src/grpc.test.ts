import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { TlsFileError } from "./errors";
import { clientChannelOptions, clientCredentials, GrpcClientPool, type GrpcServerHandle, startGrpcServer, unaryCall } from "./grpc";
import { memoryLogger } from "./testlog";

// A hand-written service shaped like ts-proto's grpc-js output (see libs/proto OutcomesService).
interface EchoRequest {
  text: string;
  delayMs?: number;
}
interface EchoReply {
  text: string;
  peerCert: boolean;
}
const json = <T>() => ({
  serialize: (v: T): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): T => JSON.parse(b.toString("utf8")) as T,
});
const req = json<EchoRequest>();
const res = json<EchoReply>();
const EchoService = {
  echo: {
    path: "/test.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  },
} satisfies grpc.ServiceDefinition;
interface EchoClient extends grpc.Client {
  echo(request: EchoRequest, callback: (error: grpc.ServiceError | null, response: EchoReply) => void): grpc.ClientUnaryCall;
  echo(
    request: EchoRequest,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: (error: grpc.ServiceError | null, response: EchoReply) => void,
  ): grpc.ClientUnaryCall;
}
const EchoClient = grpc.makeGenericClientConstructor(EchoService, "test.Echo") as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ClientOptions>,
) => EchoClient;

const echoImpl: grpc.UntypedServiceImplementation = {
  echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
    const { text, delayMs = 0 } = call.request;
    const peerCert = call.getAuthContext()?.sslPeerCertificate !== undefined;
    const timer = setTimeout(() => cb(null, { text: text.toUpperCase(), peerCert }), delayMs);
    call.on("cancelled", () => clearTimeout(timer));
  },
};

// exclusive: a net.Server of our own whose connections are injected into grpc-js (what a node:cluster worker needs)
describe.each([
  ["grpc-js bind", false],
  ["exclusive bind", true],
])("grpc (%s)", (_mode, exclusive) => {
  const servers: GrpcServerHandle[] = [];
  const clients: grpc.Client[] = [];
  const start = async (tls?: Parameters<typeof startGrpcServer>[0]["tls"]): Promise<GrpcServerHandle> => {
    const s = await startGrpcServer({ listen: "127.0.0.1:0", tls, logger: memoryLogger().logger, services: [[EchoService, echoImpl]], exclusive });
    servers.push(s);
    return s;
  };
  const client = (address: string, creds = clientCredentials(), options?: Partial<grpc.ClientOptions>): EchoClient => {
    const c = new EchoClient(address, creds, options);
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("round trip over plaintext", async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    const c = client(server.address);
    await expect(unaryCall(c.echo.bind(c), { text: "hello" }, 2000)).resolves.toEqual({ text: "HELLO", peerCert: false });
  });

  it("deadline exceeded rejects with the grpc ServiceError", async () => {
    const server = await start();
    const c = client(server.address);
    const err = (await unaryCall(c.echo.bind(c), { text: "slow", delayMs: 2000 }, 100).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it("unavailable server rejects with UNAVAILABLE", async () => {
    const server = await start();
    const address = server.address;
    await server.close();
    const c = client(address);
    const err = (await unaryCall(c.echo.bind(c), { text: "x" }, 2000).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
  });

  it("close is graceful: an in-flight call completes", async () => {
    const server = await start();
    const c = client(server.address);
    const call = unaryCall(c.echo.bind(c), { text: "inflight", delayMs: 200 }, 5000);
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all([server.close(), server.close()]);
    await expect(call).resolves.toMatchObject({ text: "INFLIGHT" });
  });

  it("close forces shutdown when calls do not drain in time", async () => {
    const { logger, lines } = memoryLogger();
    const hang: grpc.UntypedServiceImplementation = { echo: () => undefined };
    const server = await startGrpcServer({ listen: "127.0.0.1:0", logger, services: [[EchoService, hang]], forceShutdownMs: 100, exclusive });
    const c = client(server.address);
    const call = unaryCall(c.echo.bind(c), { text: "never" }, 5000).catch((e: grpc.ServiceError) => e.code);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(lines.map((l) => l.msg)).toContain("grpc server did not drain in time, forcing shutdown");
    expect(await call).toBe(grpc.status.CANCELLED); // the forced close cancels the call
  });

  it("bind failure rejects", async () => {
    const server = await start();
    const quiet = jest.spyOn(console, "error").mockImplementation(() => undefined); // grpc-js logs the failed bind
    await expect(
      startGrpcServer({ listen: server.address, logger: memoryLogger().logger, services: [[EchoService, echoImpl]], exclusive }),
    ).rejects.toThrow();
    quiet.mockRestore();
  });

  it("GrpcClientPool keeps one client per address and closes them all", async () => {
    const a = await start();
    const b = await start();
    const pool = new GrpcClientPool(EchoClient, clientCredentials());
    expect(pool.get(a.address)).toBe(pool.get(a.address));
    expect(pool.get(b.address)).not.toBe(pool.get(a.address));
    expect(pool.size).toBe(2);
    const cb = pool.get(b.address);
    await expect(unaryCall(cb.echo.bind(cb), { text: "b" }, 2000)).resolves.toMatchObject({ text: "B" });
    pool.close();
    expect(pool.size).toBe(0);
  });

  describe("TLS", () => {
    let dir: string;
    const f = (name: string): string => join(dir, name);
    const openssl = (...args: string[]): void => void execFileSync("openssl", args, { stdio: "pipe" });
    function leaf(name: string, cn: string, ext: string): void {
      writeFileSync(f(`${name}.ext`), ext);
      openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${cn}`);
      openssl("x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-out", f(`${name}.crt`), "-extfile", f(`${name}.ext`));
    }

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "service-kit-tls-"));
      openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "1", "-subj", "/CN=postern test CA");
      leaf("server", "edge.postern.test", "subjectAltName=DNS:edge.postern.test,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
      leaf("client", "spf.postern.test", "extendedKeyUsage=clientAuth\n");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("TLS round trip, server verified against ca_file", async () => {
      const server = await start({ cert_file: f("server.crt"), key_file: f("server.key"), require_client_cert: false });
      const c = client(`localhost:${server.port}`, clientCredentials({ ca_file: f("ca.crt") }));
      await expect(unaryCall(c.echo.bind(c), { text: "tls" }, 5000)).resolves.toEqual({ text: "TLS", peerCert: false });
    });

    it("server_name replaces the dialled host in the certificate check", async () => {
      const server = await start({ cert_file: f("server.crt"), key_file: f("server.key"), require_client_cert: false });
      const tls = { ca_file: f("ca.crt"), server_name: "edge.postern.test" };
      const badTls = { ca_file: f("ca.crt"), server_name: "other.postern.test" };
      const off = { keepalive_time_ms: 0 }; // keepalive has its own tests (grpc-keepalive.test.ts)
      expect(clientChannelOptions(tls, off)).toEqual({ "grpc.enable_channelz": 0, "grpc.ssl_target_name_override": "edge.postern.test" });
      expect(clientChannelOptions({ ca_file: "x" }, off)).toEqual({ "grpc.enable_channelz": 0 });
      const cases = [
        { name: "credentials alone", address: `localhost:${server.port}`, tls, withOptions: false, wantOk: true },
        { name: "credentials alone, wrong name", address: `localhost:${server.port}`, tls: badTls, withOptions: false, wantOk: false },
        { name: "with channel options, dialled by IP", address: server.address, tls, withOptions: true, wantOk: true },
        { name: "with channel options, wrong name", address: server.address, tls: badTls, withOptions: true, wantOk: false },
      ];
      for (const tc of cases) {
        const c = client(tc.address, clientCredentials(tc.tls), tc.withOptions ? clientChannelOptions(tc.tls) : undefined);
        const got = await unaryCall(c.echo.bind(c), { text: "sni" }, 5000).then(
          () => "ok",
          (e: grpc.ServiceError) => e.code,
        );
        expect([tc.name, got]).toEqual([tc.name, tc.wantOk ? "ok" : grpc.status.UNAVAILABLE]);
      }
    });

    it("mTLS round trip; a client without a certificate is refused", async () => {
      const tls = { cert_file: f("server.crt"), key_file: f("server.key"), ca_file: f("ca.crt"), require_client_cert: true };
      const server = await start(tls);
      const clientTls = { ca_file: f("ca.crt"), cert_file: f("client.crt"), key_file: f("client.key"), server_name: "localhost" };
      const withCert = client(server.address, clientCredentials(clientTls), clientChannelOptions(clientTls));
      await expect(unaryCall(withCert.echo.bind(withCert), { text: "mtls" }, 5000)).resolves.toEqual({ text: "MTLS", peerCert: true });
      const noCert = client(`localhost:${server.port}`, clientCredentials({ ca_file: f("ca.crt") }));
      const err = (await unaryCall(noCert.echo.bind(noCert), { text: "x" }, 5000).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
    });

    it("an untrusted server is refused", async () => {
      const server = await start({ cert_file: f("server.crt"), key_file: f("server.key"), require_client_cert: false });
      const c = client(`localhost:${server.port}`, clientCredentials({ ca_file: f("client.crt") }));
      const err = (await unaryCall(c.echo.bind(c), { text: "x" }, 5000).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
    });

    it("a missing file is a TlsFileError naming it", async () => {
      const missing = f("absent.crt");
      await expect(start({ cert_file: missing, key_file: f("server.key"), require_client_cert: false })).rejects.toThrow(TlsFileError);
      expect(() => clientCredentials({ ca_file: missing })).toThrow(expect.objectContaining({ code: "POSTERN_TLS_FILE", file: missing }) as Error);
    });
  });
});
