import { readFileSync } from "node:fs";
import { checkServerIdentity } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { type Logger } from "pino";
import { logEvents } from "./diagnostics";
import { TlsFileError } from "./errors";
import { type ClientTlsConfig, parseHostPort, type TlsConfig } from "./schemas";

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

/** Client options that go with `tls`: server_name also becomes the TLS SNI (grpc.ssl_target_name_override),
 *  which avoids Node's DEP0123 warning when dialling an IP address. Empty without server_name. */
export function clientChannelOptions(tls?: ClientTlsConfig): Partial<grpc.ClientOptions> {
  return tls?.server_name === undefined ? {} : { "grpc.ssl_target_name_override": tls.server_name };
}

/** Binds `listen` ("host:port", port 0 for any) and serves `services`. */
export async function startGrpcServer(opts: {
  listen: string;
  tls?: TlsConfig;
  logger: Logger;
  services: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>;
  options?: grpc.ServerOptions;
  /** how long close() waits for calls to drain before forcing; default 5 s */
  forceShutdownMs?: number;
}): Promise<GrpcServerHandle> {
  const server = new grpc.Server(opts.options);
  for (const [definition, implementation] of opts.services) server.addService(definition, implementation);
  const credentials = serverCredentials(opts.tls);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.listen, credentials, (err, bound) => {
      if (!err) return resolve(bound);
      server.forceShutdown();
      reject(err);
    });
  });
  const host = parseHostPort(opts.listen)?.host ?? opts.listen.slice(0, opts.listen.lastIndexOf(":"));
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  opts.logger.info({ address, tls: opts.tls !== undefined }, logEvents.grpcListening);
  let closing: Promise<void> | undefined;
  return {
    port,
    address,
    close() {
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
