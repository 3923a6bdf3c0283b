import { JetStreamApiCodes, JetStreamApiError, type StreamInfo } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { Objm, type ObjectStore, setSha256Backend } from "@nats-io/obj";
import { type Bus } from "./connect";
import { TopologyError } from "./errors";
import { bucketNames, kvBucketNames, kvStreamName, objectStoreStreamName, type KvBucketName } from "./subjects";

/** The stream behind a bucket; TopologyError when ensureTopology has not created it. */
async function existingStream(bus: Bus, stream: string, what: string): Promise<StreamInfo> {
  try {
    return await bus.jsm.streams.info(stream);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
      throw new TopologyError(stream, `${what} does not exist; run ensureTopology first`, { cause: err });
    }
    throw new TopologyError(stream, `cannot open ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * SHA-256 of object store data (every body put into or read back from the spool is hashed)
 * with node:crypto instead of nats.js's pure-JavaScript default: for 100 KB messages that
 * hash was a third of dane-outbound's CPU. Process-wide; call it in a service's main.ts,
 * before any object store use. Not under jest: the native backend loads node:crypto with a
 * dynamic import, which jest's module VM refuses.
 */
export function nativeObjectDigests(): void {
  setSha256Backend("native");
}

/** Opens the object store "spool" (message bodies). It must exist (ensureTopology). */
export async function openSpool(bus: Bus): Promise<ObjectStore> {
  const stream = objectStoreStreamName(bucketNames.spool);
  await existingStream(bus, stream, `object store ${bucketNames.spool}`);
  return new Objm(bus.js).open(bucketNames.spool, false);
}

/** Opens one of Postern's KV buckets. It must exist (ensureTopology). */
export async function openKv(bus: Bus, bucket: KvBucketName): Promise<KV> {
  if (!kvBucketNames.includes(bucket)) {
    throw new TopologyError(kvStreamName(String(bucket)), `unknown KV bucket; expected one of ${kvBucketNames.join(", ")}`);
  }
  const stream = kvStreamName(bucket);
  const info = await existingStream(bus, stream, `KV bucket ${bucket}`);
  // Bind without another lookup; direct get only when the stream allows it.
  return new Kvm(bus.js).open(bucket, { allow_direct: info.config.allow_direct });
}
