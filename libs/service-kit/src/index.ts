/**
 * @postern/service-kit — what every Postern service shares: configuration (one YAML/JSON file
 * plus POSTERN_* environment overrides, validated with zod), a pino JSON logger, a prom-client
 * registry, /metrics /healthz /readyz over HTTP, graceful shutdown, and gRPC server/client helpers.
 * runService() wires them together; a service's main.ts is one call to it.
 *
 * SECURITY: configuration and environment are trusted but checked: every option is validated,
 * env keys "__proto__"/"constructor"/"prototype" are dropped, YAML aliases are capped by the yaml
 * package, and ConfigError messages name the option path and the expected form, never the value
 * (so secrets in config do not reach logs). The HTTP endpoint binds 127.0.0.1 by default, reads
 * no request bodies, serves three fixed GET paths and bounds header/request time. gRPC servers
 * are plaintext unless tls is configured; tls.require_client_cert demands a CA (mTLS).
 * GrpcClientPool keeps one client per distinct address until close(): feed it only addresses
 * from trusted peers.
 *
 * DIAGNOSTICS: ConfigError (code POSTERN_CONFIG_INVALID) lists one `invalid configuration:
 * <path>: <problem>` line per issue; runService prints it to stderr and exits 78. Start failure is
 * logged ("service start failed") and exits 1. Log messages are listed in ./diagnostics.ts.
 * /readyz answers 503 with the names of the failing checks (each bounded to 1 s); shutdown
 * closers that fail or exceed their time bound are logged and skipped, never thrown.
 */
export { ConfigError, type ConfigIssue, ShutdownError, TimeoutError, TlsFileError } from "./errors";
export { CONFIG_ENV, envOverrides, formatPath, loadConfig, parseConfig, readConfigFile } from "./config";
export {
  type ClientTlsConfig,
  clientTlsConfigSchema,
  type GrpcAuthConfig,
  grpcAuthFields,
  type GrpcClientConfig,
  grpcClientConfigSchema,
  type GrpcKeepaliveConfig,
  grpcKeepaliveFields,
  type GrpcServerConfig,
  grpcServerConfigSchema,
  type HttpConfig,
  httpConfigSchema,
  hostPortSchema,
  type LogConfig,
  logConfigSchema,
  type LogLevel,
  logLevels,
  parseHostPort,
  stringList,
  stringListOf,
  type TlsConfig,
  tlsConfigSchema,
} from "./schemas";
export { logEvents } from "./diagnostics";
export { createLogger } from "./logger";
export { createMetrics, METRIC_PREFIX, TallyCounter } from "./metrics";
export { TallyHistogram, TallyObserver } from "./tally-histogram";
export { type DeadlineTicket, SharedDeadlines } from "./shared-deadlines";
export { CHECK_TIMEOUT_MS, createHealth, type Health, type HealthState, type LiveStatus } from "./health";
export { type HttpServerHandle, startHttpServer } from "./http";
export { createShutdown, DEFAULT_CLOSE_TIMEOUT_MS, type Shutdown, type ShutdownControl } from "./shutdown";
export { EXIT_CONFIG, type HttpAddress, runService, type RunServiceOptions, type ServiceContext } from "./run";
export {
  AUTH_METADATA_KEY,
  authClientInterceptor,
  authServerInterceptor,
  clientChannelOptions,
  clientCredentials,
  GRPC_FORCE_SHUTDOWN_MS,
  type GrpcServerHandle,
  GrpcClientPool,
  KEEPALIVE_TIME_MS,
  KEEPALIVE_TIMEOUT_MS,
  readAuthToken,
  SERVER_KEEPALIVE_TIME_MS,
  SERVER_KEEPALIVE_TIMEOUT_MS,
  serverCredentials,
  startGrpcServer,
  unaryCall,
} from "./grpc";
export { Admission } from "./admission";
export {
  CoalescingReporter,
  type CoalescingReporterOptions,
  ReportDeadlineExceededError,
  ReportStreamEndedError,
  type VerdictReplier,
  verdictReplier,
  type VerdictReplyOptions,
  VerdictStreams,
} from "./coalescing-reporter";
