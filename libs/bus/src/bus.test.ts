import { MailRecord } from "@postern/proto";
import { startNats, type Backend } from "@postern/testing";
import { attachBus, type BusHost } from "./attach";
import { codecs } from "./codec";
import { natsConfigSchema, type NatsConfig } from "./config";
import { connectBus, redactUrl, type Bus } from "./connect";
import { type BusLogger } from "./diagnostics";
import { ConnectError, InvalidEventError, TopologyError } from "./errors";
import { newEvent, publishEvent } from "./events";
import { openKv, openSpool } from "./stores";
import { bucketNames, kvBucketNames, kvStreamName, objectStoreStreamName, streamNames, subjects } from "./subjects";
import { ensureTopology } from "./topology";

interface LogRecord {
  level: "info" | "warn" | "error";
  obj: object;
  msg?: string;
}

function recordingLogger(): BusLogger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at =
    (level: LogRecord["level"]) =>
    (obj: object, msg?: string): void => {
      records.push({ level, obj, msg });
    };
  return { records, info: at("info"), warn: at("warn"), error: at("error") };
}

function configFor(nats: Backend, raw: Record<string, unknown> = {}): NatsConfig {
  return natsConfigSchema.parse({ servers: [nats.url], ...raw });
}

const SEC = 1_000_000_000;

describe("bus against a real nats-server", () => {
  let nats: Backend;
  let bus: Bus;
  let config: NatsConfig;
  const logger = recordingLogger();

  beforeAll(async () => {
    nats = await startNats();
    config = configFor(nats);
    bus = await connectBus(config, { name: "bus-test", logger });
  });

  afterAll(async () => {
    await bus?.drain();
    await nats?.stop();
  });

  it("connects and logs it", () => {
    expect(bus.isConnected()).toBe(true);
    const connected = logger.records.find((r) => (r.obj as { event?: string }).event === "nats.connected");
    expect(connected).toMatchObject({ level: "info", obj: { name: "bus-test", server: `127.0.0.1:${nats.port}` } });
  });

  it("openKv/openSpool refuse buckets that ensureTopology has not created", async () => {
    await expect(openKv(bus, "ocsp-staples")).rejects.toThrow(TopologyError);
    await expect(openSpool(bus)).rejects.toMatchObject({ code: "POSTERN_BUS_TOPOLOGY", stream: "OBJ_spool" });
  });

  it("ensureTopology creates everything and is idempotent", async () => {
    await ensureTopology(bus, config.jetstream);
    await ensureTopology(bus, config.jetstream);

    const mail = await bus.jsm.streams.info(streamNames.mail);
    expect(mail.config).toMatchObject({
      subjects: ["postern.v1.mail.>"],
      retention: "workqueue",
      storage: "file",
      num_replicas: 1,
      max_age: 604800 * SEC,
      max_bytes: -1,
      discard: "new",
      duplicate_window: 120 * SEC,
    });
    const events = await bus.jsm.streams.info(streamNames.events);
    expect(events.config).toMatchObject({ subjects: ["postern.event.>"], retention: "limits", discard: "old", duplicate_window: 120 * SEC });
    for (const bucket of kvBucketNames) {
      const kv = await bus.jsm.streams.info(kvStreamName(bucket));
      expect(kv.config).toMatchObject({ storage: "file", num_replicas: 1, max_msgs_per_subject: 1 });
    }
    const spool = await bus.jsm.streams.info(objectStoreStreamName(bucketNames.spool));
    expect(spool.config).toMatchObject({ storage: "file", max_age: 604800 * SEC, max_bytes: -1 });
  });

  it("updates a stream when the configuration changes", async () => {
    const changed = configFor(nats, { jetstream: { mail: { max_age_seconds: 3600, max_bytes: 10_000_000 }, spool: { ttl_seconds: 60 } } });
    await ensureTopology(bus, changed.jetstream);
    const mail = await bus.jsm.streams.info(streamNames.mail);
    expect(mail.config).toMatchObject({ max_age: 3600 * SEC, max_bytes: 10_000_000, retention: "workqueue" });
    const spool = await bus.jsm.streams.info(objectStoreStreamName("spool"));
    expect(spool.config).toMatchObject({ max_age: 60 * SEC, duplicate_window: 60 * SEC });

    // max_age below two minutes shortens the duplicate window with it (JetStream requires window <= max_age).
    const short = configFor(nats, { jetstream: { mail: { max_age_seconds: 60 } } });
    await ensureTopology(bus, short.jetstream);
    const after = await bus.jsm.streams.info(streamNames.mail);
    expect(after.config).toMatchObject({ max_age: 60 * SEC, duplicate_window: 60 * SEC });
    expect((await bus.jsm.streams.info(objectStoreStreamName("spool"))).config).toMatchObject({ max_age: 604800 * SEC, duplicate_window: 120 * SEC });

    await ensureTopology(bus, config.jetstream);
    expect((await bus.jsm.streams.info(streamNames.mail)).config).toMatchObject({ max_age: 604800 * SEC, max_bytes: -1, duplicate_window: 120 * SEC });
  });

  it("refuses to change storage of an existing stream", async () => {
    const memory = configFor(nats, { jetstream: { events: { storage: "memory" } } });
    const err: unknown = await ensureTopology(bus, memory.jetstream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopologyError);
    expect(err).toMatchObject({ name: "TopologyError", code: "POSTERN_BUS_TOPOLOGY", stream: "EVENTS" });
    expect((err as Error).message).toMatch(/storage is "file" but the configuration asks for "memory"/);
  });

  it("de-duplicates a MailRecord published twice with the same msgID", async () => {
    const record = MailRecord.fromPartial({ messageId: "dup-1", sender: "a@example.org", recipients: [{ address: "b@example.com" }] });
    const bytes = codecs.mail.encode(record);
    const first = await bus.js.publish(subjects.mailQueued, bytes, { msgID: record.messageId });
    const second = await bus.js.publish(subjects.mailQueued, bytes, { msgID: record.messageId });
    expect(first.stream).toBe("MAIL");
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const stored = await bus.jsm.streams.getMessage(streamNames.mail, { seq: first.seq });
    expect(stored).not.toBeNull();
    expect(codecs.mail.decode(stored!.data, stored!.subject)).toEqual(record);
  });

  it("newEvent fills id, time and host; publishEvent de-duplicates on id", async () => {
    const event = newEvent("msg:delivery", { messageId: "m-1", deliveryIp: "192.0.2.1", deliveryPort: 25 });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.time).toBeInstanceOf(Date);
    expect(event.host).not.toBe("");
    expect(event.name).toBe("msg:delivery");
    expect(newEvent("tcp:close", { id: "given", host: "h" })).toMatchObject({ id: "given", host: "h", name: "tcp:close" });

    const first = await publishEvent(bus, event);
    const again = await publishEvent(bus, event);
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ sequence: first.sequence, duplicate: true });
    const stored = await bus.jsm.streams.getMessage(streamNames.events, { last_by_subj: "postern.event.msg.delivery" });
    expect(codecs.event.decode(stored!.data)).toEqual(event);
  });

  it("publishEvent refuses events without an id or with a bad name", async () => {
    const event = newEvent("msg:delivery");
    await expect(publishEvent(bus, { ...event, id: "" })).rejects.toThrow(InvalidEventError);
    await expect(publishEvent(bus, { ...event, name: "msg.*" })).rejects.toMatchObject({ code: "POSTERN_BUS_INVALID_EVENT" });
    expect(() => newEvent("bad name")).toThrow(InvalidEventError);
  });

  it("stores and reads back a 1 MiB object in the spool", async () => {
    const spool = await openSpool(bus);
    const body = new Uint8Array(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
    const info = await spool.putBlob({ name: "msg-1/body" }, body);
    expect(info.size).toBe(body.length);
    const back = await spool.getBlob("msg-1/body");
    expect(back).not.toBeNull();
    expect(Buffer.from(back!).equals(Buffer.from(body))).toBe(true);
  });

  it("opens every KV bucket and keeps one revision per key", async () => {
    for (const bucket of kvBucketNames) {
      const kv = await openKv(bus, bucket);
      await kv.put("k", "v1");
      await kv.put("k", "v2");
      const entry = await kv.get("k");
      expect(entry?.string()).toBe("v2");
      const history: string[] = [];
      for await (const e of await kv.history({ key: "k" })) history.push(e.string());
      expect(history).toEqual(["v2"]);
    }
  });
});

describe("attachBus", () => {
  it("connects, ensures the topology, reports readiness and drains at shutdown", async () => {
    const nats = await startNats();
    try {
      const checks = new Map<string, () => boolean>();
      const closers: Array<[string, () => Promise<void>]> = [];
      const host: BusHost = {
        name: "attach-test",
        logger: recordingLogger(),
        health: { addCheck: (name, check) => void checks.set(name, check) },
        shutdown: { add: (name, close) => void closers.push([name, close]) },
      };
      const bus = await attachBus(host, configFor(nats));
      expect(checks.get("nats")?.()).toBe(true);
      await expect(bus.jsm.streams.info(streamNames.mail)).resolves.toBeDefined();
      await expect(openKv(bus, "ocsp-certs")).resolves.toBeDefined();
      expect(closers.map(([name]) => name)).toEqual(["nats"]);
      await closers[0]![1]();
      expect(checks.get("nats")?.()).toBe(false);
    } finally {
      await nats.stop();
    }
  });
});

describe("ensureTopology from several processes at once", () => {
  let nats: Backend;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it("succeeds for all, on an empty server, even with differing configurations", async () => {
    const logger = recordingLogger();
    const a = configFor(nats);
    const b = configFor(nats, { jetstream: { mail: { max_age_seconds: 3600 } } });
    const buses = await Promise.all([0, 1, 2].map((i) => connectBus(a, { name: `p${i}`, logger })));
    try {
      await Promise.all([
        ensureTopology(buses[0]!, a.jetstream),
        ensureTopology(buses[1]!, a.jetstream),
        ensureTopology(buses[2]!, b.jetstream),
      ]);
      const mail = await buses[0]!.jsm.streams.info(streamNames.mail);
      expect([3600 * SEC, 604800 * SEC]).toContain(mail.config.max_age);
      await expect(openKv(buses[1]!, "delivery-state")).resolves.toBeDefined();
      await expect(openSpool(buses[2]!)).resolves.toBeDefined();
    } finally {
      await Promise.all(buses.map((x) => x.drain()));
    }
  });
});

describe("ensureTopology, the same configuration from eight processes at once", () => {
  it("succeeds for all, twenty times over on a fresh server (nats-server 2.9 answers the loser 10065, not 10058)", async () => {
    for (let round = 0; round < 20; round++) {
      const nats = await startNats();
      const config = configFor(nats);
      const buses = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => connectBus(config, { name: `r${round}p${i}`, logger: recordingLogger() })));
      try {
        await Promise.all(buses.map((b) => ensureTopology(b, config.jetstream)));
        await expect(buses[0]!.jsm.streams.info(streamNames.mail)).resolves.toBeDefined();
        await expect(buses[3]!.jsm.streams.info(streamNames.events)).resolves.toBeDefined();
      } finally {
        await Promise.all(buses.map((x) => x.drain()));
        await nats.stop();
      }
    }
  }, 120_000);
});

describe("connectBus", () => {
  it("throws ConnectError without the password when nothing listens", async () => {
    const config = natsConfigSchema.parse({ servers: "nats://alice:s3cret@127.0.0.1:1" });
    const err: unknown = await connectBus(config, { name: "x", logger: recordingLogger() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ name: "ConnectError", code: "POSTERN_BUS_CONNECT", servers: ["nats://***@127.0.0.1:1"] });
    expect((err as Error).message).not.toContain("s3cret");
  });

  it("redacts URL credentials", () => {
    expect(redactUrl("nats://u:p@h:4222")).toBe("nats://***@h:4222");
    expect(redactUrl("tls://token@h")).toBe("tls://***@h");
    expect(redactUrl("nats://h:4222")).toBe("nats://h:4222");
  });

  it("drains once, however often drain() is called, and logs the close", async () => {
    const nats = await startNats();
    try {
      const logger = recordingLogger();
      const bus = await connectBus(configFor(nats), { name: "drain", logger });
      await Promise.all([bus.drain(), bus.drain()]);
      await bus.drain();
      expect(bus.isConnected()).toBe(false);
      expect(bus.nc.isClosed()).toBe(true);
      await bus.nc.closed();
      await new Promise((r) => setImmediate(r));
      expect(logger.records.map((r) => (r.obj as { event?: string }).event)).toContain("nats.closed");
    } finally {
      await nats.stop();
    }
  });

  it("logs a lost connection and reports isConnected() false while it reconnects", async () => {
    const nats = await startNats();
    const logger = recordingLogger();
    const bus = await connectBus(configFor(nats, { reconnect_wait_ms: 50 }), { name: "flap", logger });
    try {
      await nats.stop();
      await waitFor(() => logger.records.some((r) => (r.obj as { event?: string }).event === "nats.disconnect"));
      expect(bus.isConnected()).toBe(false);
    } finally {
      await bus.nc.close();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
