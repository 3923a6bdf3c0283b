/**
 * @postern/bus — Postern's use of NATS in one place.
 *
 * What it does: validates the `nats` configuration section (natsConfigSchema);
 * connects with reconnect-forever defaults and logs connection state changes
 * (connectBus); creates or updates the JetStream topology — stream MAIL (work
 * queue, msgID de-duplication over two minutes), stream EVENTS, KV buckets
 * ocsp-staples / ocsp-certs / delivery-state and object store spool
 * (ensureTopology, safe to run from every replica at start-up); names every
 * subject, stream, consumer, queue group and bucket (subjects, streamNames, ...);
 * encodes and decodes the protobuf payloads (codecs); publishes events
 * (newEvent, publishEvent); attachBus does connect + topology + readiness +
 * drain-at-shutdown for a service in one call.
 *
 * SECURITY: every payload read from NATS is untrusted; decode it with a codec,
 * which turns malformed bytes into DecodeError instead of a partial message.
 * Event names are checked before they become subjects, so a name cannot inject
 * wildcards or extra tokens. Credentials (user/pass/token, URL userinfo) are
 * never logged or put in error messages. A full MAIL stream refuses new
 * messages rather than dropping queued mail (discard "new"). ensureTopology
 * never deletes a stream: a storage or retention change is refused.
 *
 * DIAGNOSTICS: connectBus logs through the injected logger with an `event`
 * field from logEvents (nats.connected, nats.disconnect, nats.reconnect,
 * nats.error, nats.lame_duck, nats.closed ...). Failures are BusError
 * subclasses with a stable code: DecodeError POSTERN_BUS_DECODE (type,
 * subject, byteLength), ConnectError POSTERN_BUS_CONNECT (servers, redacted),
 * TopologyError POSTERN_BUS_TOPOLOGY (stream), PublishError POSTERN_BUS_PUBLISH
 * (subject), InvalidEventError POSTERN_BUS_INVALID_EVENT. The underlying
 * nats.js error is the `cause`.
 */
export {
  natsConfigSchema,
  jetstreamConfigSchema,
  streamConfigSchema,
  spoolConfigSchema,
  kvConfigSchema,
  natsTlsConfigSchema,
  type NatsConfig,
  type JetStreamConfig,
  type NatsStreamConfig,
} from "./config";
export { connectBus, connectionOptions, redactUrl, type Bus } from "./connect";
export { ensureTopology, isCreateRace, streamPlans, type StreamPlan } from "./topology";
export { attachBus, type BusHost } from "./attach";
export { openSpool, openKv, nativeObjectDigests } from "./stores";
export { newEvent, publishEvent } from "./events";
export { lightRequestCancel } from "./request-cancel";
export {
  subjects,
  streamNames,
  consumerNames,
  queueGroups,
  bucketNames,
  kvBucketNames,
  kvStreamName,
  objectStoreStreamName,
  type KvBucketName,
} from "./subjects";
export { protoCodec, codecs, type Codec, type ProtoMessageFns } from "./codec";
export {
  BusError,
  DecodeError,
  ConnectError,
  TopologyError,
  PublishError,
  InvalidEventError,
  busErrorCodes,
  type BusErrorCode,
} from "./errors";
export { logEvents, type BusLogger } from "./diagnostics";
export type { NatsConnection } from "@nats-io/transport-node";
export type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
export type { KV } from "@nats-io/kv";
export type { ObjectStore } from "@nats-io/obj";
