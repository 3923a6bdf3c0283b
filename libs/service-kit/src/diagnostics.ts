/**
 * Every log message @postern/service-kit writes (structured fields in brackets).
 * The metrics it registers are prom-client's default process metrics, prefixed "postern_".
 */
export const logEvents = {
  started: "service started", // { httpPort }
  startFailed: "service start failed", // { err }
  shutdownBegin: "shutdown begins", // { reason }
  shutdownDone: "shutdown complete",
  closerFailed: "shutdown closer failed", // { closer, err }
  signal: "signal received", // { signal }
  signalForced: "second signal, exiting at once", // { signal }
  httpError: "http endpoint failed", // { path, err }
  grpcListening: "grpc server listening", // { address, tls }
  grpcForced: "grpc server did not drain in time, forcing shutdown", // { address }
} as const;
