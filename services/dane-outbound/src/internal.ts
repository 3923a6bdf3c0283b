/**
 * Internals of dane-outbound for cross-package tests (tests/interop): the transport wiring,
 * the DANE/OCSP policy, and the pure log-line and event builders. Not a stable API.
 */
export { transportFactory } from "./service";
export { TlsPolicy, TlsPlan, OcspState, TlsErrno, tlsEventFields, tlsFailureFields, tlsLogPart, peerChain, type TlsOutcome, type TlsFailure, type TlsPolicyConfig, type PolicyHost, type DaneResolver } from "./tls-policy";
export { deliverToHosts, SessionPool, HostMemory, type SmtpClientOptions } from "./smtp-transport";
export { Limiter } from "./limits";
export { deliveryLogLine } from "./delivery-log";
export { outcomeEvent, hostDeferEvent, tlsFailEvent, type EventContext } from "./outcomes";
export type { DeliveryJob, HostInfo, RcptResult, Target } from "./types";
export { parseRoute, type Route } from "./routes";
export { createResolver, type Resolver } from "@postern/dns";
