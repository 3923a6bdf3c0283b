import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { type AddressInfo, createServer, type Server as NetServer } from "node:net";
import { checkServerIdentity } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { type Logger } from "pino";
import { logEvents } from "./diagnostics";
import { ConfigError, TlsFileError } from "./errors";
import { type ClientTlsConfig, type GrpcAuthConfig, type GrpcKeepaliveConfig, parseHostPort, type TlsConfig } from "./schemas";

export const GRPC_FORCE_SHUTDOWN_MS = 5_000;

export interface GrpcServerHandle {
  port: number;
  /** host:port actually bound (the listen host with the real port) */
  address: string;
  /** graceful (tryShutdown), then forced after 5 s; idempotent */
  close(): Promise<void>;
}

function readTlsFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFileError(file, { cause: err });
  }
}

/** Server credentials from PEM files; mTLS when require_client_cert (clients verified against ca_file). */
export function serverCredentials(tls?: TlsConfig): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  const ca = tls.ca_file === undefined ? null : readTlsFile(tls.ca_file);
  const pair = { cert_chain: readTlsFile(tls.cert_file), private_key: readTlsFile(tls.key_file) };
  return grpc.ServerCredentials.createSsl(ca, [pair], tls.require_client_cert);
}

/** Insecure when `tls` is undefined; else TLS verified against ca_file (system CAs without it), client cert for mTLS,
 *  and the server certificate checked against server_name instead of the dialled host when given. */
export function clientCredentials(tls?: ClientTlsConfig): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  const ca = tls.ca_file === undefined ? null : readTlsFile(tls.ca_file);
  const key = tls.key_file === undefined ? null : readTlsFile(tls.key_file);
  const cert = tls.cert_file === undefined ? null : readTlsFile(tls.cert_file);
  const serverName = tls.server_name;
  const verify = serverName === undefined ? undefined : { checkServerIdentity: (_host: string, c: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(serverName, c) };
  return grpc.credentials.createSsl(ca, key, cert, verify);
}

/** HTTP/2 keepalive defaults of clientChannelOptions (grpcKeepaliveFields): a dead peer is noticed within ~30 s. */
export const KEEPALIVE_TIME_MS = 20_000;
export const KEEPALIVE_TIMEOUT_MS = 10_000;

/** Client options that go with `tls`: server_name also becomes the TLS SNI (grpc.ssl_target_name_override),
 *  which avoids Node's DEP0123 warning when dialling an IP address. With `client` holding a token, every
 *  call carries it (authClientInterceptor). HTTP/2 keepalive as `client` says (grpcKeepaliveFields; on by
 *  default, keepalive_time_ms 0 turns it off). channelz is off. */
export function clientChannelOptions(tls?: ClientTlsConfig, client?: GrpcAuthConfig & GrpcKeepaliveConfig): Partial<grpc.ClientOptions> {
  // channelz (grpc-js's per-call introspection counters) costs 2-3 % of a busy service's CPU and nothing reads it
  const options: Partial<grpc.ClientOptions> = { "grpc.enable_channelz": 0 };
  if (tls?.server_name !== undefined) options["grpc.ssl_target_name_override"] = tls.server_name;
  // grpc-js 1.14 (transport.js): while the connection has calls (or always, with permit_without_calls) it pings
  // keepalive_time_ms after the previous ping's answer, whether or not data flowed meanwhile; an answer missing for
  // keepalive_timeout_ms ends the connection, its calls end UNAVAILABLE ("Connection dropped") and the channel goes
  // idle, so the next call dials again. Without it a half-open connection (peer gone without FIN/RST) keeps the
  // verdict streams "writing" into the kernel's buffer until TCP gives up, ~15 min on Linux.
  const keepaliveMs = client?.keepalive_time_ms ?? KEEPALIVE_TIME_MS;
  if (keepaliveMs > 0) {
    options["grpc.keepalive_time_ms"] = keepaliveMs;
    options["grpc.keepalive_timeout_ms"] = client?.keepalive_timeout_ms ?? KEEPALIVE_TIMEOUT_MS;
    options["grpc.keepalive_permit_without_calls"] = (client?.keepalive_without_calls ?? true) ? 1 : 0;
  }
  const token = readAuthToken(client);
  if (token !== undefined) options.interceptors = [authClientInterceptor(token)];
  return options;
}

/** The metadata key that carries the token ("authorization: Bearer <token>", as HTTP does). */
export const AUTH_METADATA_KEY = "authorization";

/**
 * The configured token: auth_token, or the trimmed content of auth_token_file; undefined when
 * neither is set. Throws ConfigError when both are set, the file cannot be read or the token is
 * shorter than 16 characters. Errors name the option, never the token.
 */
export function readAuthToken(auth?: GrpcAuthConfig): string | undefined {
  if (auth === undefined) return undefined;
  const { auth_token: inline, auth_token_file: file } = auth;
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError([{ path: "auth_token_file", message: "give auth_token or auth_token_file, not both" }]);
  }
  if (file === undefined) return inline;
  let token: string;
  try {
    token = readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new ConfigError([{ path: "auth_token_file", message: `cannot read ${file}` }], { cause: err });
  }
  if (token.length < 16) throw new ConfigError([{ path: "auth_token_file", message: `${file} must hold a token of at least 16 characters` }]);
  return token;
}

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * A server interceptor that refuses (UNAUTHENTICATED) every call whose metadata does not carry
 * "authorization: Bearer <token>". The comparison is constant-time (SHA-256 digests compared with
 * timingSafeEqual, so neither the token's content nor its length leaks through timing), and the
 * header is removed before the handler sees the metadata, so no handler can log it.
 */
export function authServerInterceptor(token: string): grpc.ServerInterceptor {
  const expected = digest(`Bearer ${token}`);
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, mdNext) => {
              const presented = metadata.get(AUTH_METADATA_KEY);
              const value = presented.length === 1 && typeof presented[0] === "string" ? presented[0] : "";
              if (!timingSafeEqual(digest(value), expected)) {
                call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: "missing or invalid authorization token", metadata: new grpc.Metadata() });
                return;
              }
              metadata.remove(AUTH_METADATA_KEY);
              mdNext(metadata);
            })
            .build(),
        );
      },
    });
}

/** A client interceptor that adds "authorization: Bearer <token>" to every call. */
export function authClientInterceptor(token: string): grpc.Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set(AUTH_METADATA_KEY, value);
        next(metadata, listener);
      },
    });
}

/** Server-side HTTP/2 keepalive of startGrpcServer (opts.options overrides it): see there. */
export const SERVER_KEEPALIVE_TIME_MS = 60_000;
export const SERVER_KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * Binds `listen` ("host:port", port 0 for any) and serves `services`. Nothing is set for our clients'
 * keepalive (clientChannelOptions): a grpc-js 1.14 server answers PINGs at any rate, with or without
 * calls; it has no grpc.http2.min_ping_interval_without_data_ms and never sends GOAWAY too_many_pings
 * (grpc-keepalive.test.ts checks that a client pinging every 200 ms is never sent away).
 * The server pings each connection itself every 60 s and drops one that does not answer within 20 s:
 * a client-streaming call (a worker's verdict stream) never makes the server write until it ends, so
 * without this the connection of a worker gone without FIN/RST, and its call, would stay open for good.
 */
export async function startGrpcServer(opts: {
  listen: string;
  tls?: TlsConfig;
  /** the server's grpc section (or anything with auth_token / auth_token_file): calls without the token are refused */
  auth?: GrpcAuthConfig;
  logger: Logger;
  services: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>;
  options?: grpc.ServerOptions;
  /** how long close() waits for calls to drain before forcing; default 5 s */
  forceShutdownMs?: number;
  /**
   * Bind the port in this process even in a node:cluster worker. Without it, grpc-js's listener goes through the
   * cluster primary, which hands every worker asking for the same host and port 0 one shared socket, so a call could
   * reach any worker. With it, a plain net.Server listens exclusively and its connections are injected into the gRPC
   * server. `listen` must then name one address (a literal IP or a host name resolving to one).
   */
  exclusive?: boolean;
}): Promise<GrpcServerHandle> {
  const token = readAuthToken(opts.auth);
  const options: grpc.ServerOptions = {
    "grpc.keepalive_time_ms": SERVER_KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": SERVER_KEEPALIVE_TIMEOUT_MS,
    ...opts.options,
  };
  if (token !== undefined) options.interceptors = [authServerInterceptor(token), ...(opts.options?.interceptors ?? [])];
  const server = new grpc.Server(options);
  for (const [definition, implementation] of opts.services) server.addService(definition, implementation);
  const credentials = serverCredentials(opts.tls);
  const host = parseHostPort(opts.listen)?.host ?? opts.listen.slice(0, opts.listen.lastIndexOf(":"));
  let listener: NetServer | undefined;
  const port = opts.exclusive
    ? await new Promise<number>((resolve, reject) => {
        const hp = parseHostPort(opts.listen);
        if (hp === undefined) return reject(new Error(`grpc listen: not host:port: ${opts.listen}`));
        const injector = server.createConnectionInjector(credentials);
        const net = createServer((socket) => injector.injectConnection(socket));
        net.once("error", (err) => {
          server.forceShutdown();
          reject(err);
        });
        net.listen({ host: hp.host, port: hp.port, exclusive: true }, () => {
          listener = net;
          resolve((net.address() as AddressInfo).port);
        });
      })
    : await new Promise<number>((resolve, reject) => {
        server.bindAsync(opts.listen, credentials, (err, bound) => {
          if (!err) return resolve(bound);
          server.forceShutdown();
          reject(err);
        });
      });
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  opts.logger.info({ address, tls: opts.tls !== undefined, mtls: opts.tls?.require_client_cert === true, auth: token === undefined ? "none" : "token" }, logEvents.grpcListening);
  let closing: Promise<void> | undefined;
  return {
    port,
    address,
    close() {
      listener?.close(); // no new connections; tryShutdown below ends the injected ones
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          opts.logger.warn({ address }, logEvents.grpcForced);
          server.forceShutdown();
          resolve();
        }, opts.forceShutdownMs ?? GRPC_FORCE_SHUTDOWN_MS);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}

/** Promise wrapper with a deadline: unaryCall(client.record.bind(client), req, 5000). Rejects with the grpc ServiceError. */
export function unaryCall<Req, Res>(
  method: (
    req: Req,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    cb: (err: grpc.ServiceError | null, res: Res) => void,
  ) => grpc.ClientUnaryCall,
  request: Req,
  deadlineMs: number,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method(request, metadata, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** One client per address (reply_to addresses); close() closes all. */
export class GrpcClientPool<C extends grpc.Client> {
  private readonly clients = new Map<string, C>();

  constructor(
    private readonly ctor: new (address: string, creds: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => C,
    private readonly creds: grpc.ChannelCredentials,
    private readonly options?: Partial<grpc.ClientOptions>,
  ) {}

  get(address: string): C {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new this.ctor(address, this.creds, this.options);
      this.clients.set(address, client);
    }
    return client;
  }

  get size(): number {
    return this.clients.size;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
