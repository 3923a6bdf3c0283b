import * as grpc from "@grpc/grpc-js";
import { Event, OutcomesClient, OutcomesService, type OutcomesServer } from "@postern/proto";
import { createLogger, startGrpcServer, type GrpcServerHandle } from "@postern/service-kit";
import { freePort } from "@postern/testing";
import { ReportError } from "./errors";
import { outcomesRecorder, RECORD_BATCH } from "./outcomes";
import { OutcomesSink } from "./test-harness";

jest.setTimeout(30_000);

const ev = (id: string, name = "msg:delivery"): Event => Event.fromPartial({ id, name, messageId: "m1" });

describe("outcomesRecorder", () => {
  let sink: OutcomesSink;
  let client: OutcomesClient;
  beforeAll(async () => {
    sink = new OutcomesSink(await freePort());
    await sink.start();
    client = new OutcomesClient(sink.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await sink.stop();
  });

  it("sends the events of one loop turn in one call, in order", async () => {
    const record = outcomesRecorder(client, 5000);
    const calls = sink.calls;
    await Promise.all(["a1", "a2", "a3"].map((id) => record(ev(id))));
    expect(sink.calls - calls).toBe(1);
    expect(sink.events.slice(-3).map((e) => e.id)).toEqual(["a1", "a2", "a3"]);
    await record(ev("a4")); // alone: the single form
    expect(sink.calls - calls).toBe(2);
  });

  it(`splits at ${RECORD_BATCH} events`, async () => {
    const record = outcomesRecorder(client, 5000);
    const calls = sink.calls;
    const ids = Array.from({ length: RECORD_BATCH + 10 }, (_, i) => `s${i}`);
    await Promise.all(ids.map((id) => record(ev(id))));
    expect(sink.calls - calls).toBe(2);
    expect(sink.events.slice(-ids.length).map((e) => e.id)).toEqual(ids);
  });
});

describe("outcomesRecorder against other servers", () => {
  let handle: GrpcServerHandle | undefined;
  let client: OutcomesClient | undefined;
  const serve = async (impl: OutcomesServer): Promise<OutcomesClient> => {
    const address = `127.0.0.1:${await freePort()}`;
    handle = await startGrpcServer({ listen: address, logger: createLogger({ name: "outcomes", level: "error" }), services: [[OutcomesService, impl]] });
    client = new OutcomesClient(address, grpc.credentials.createInsecure());
    return client;
  };
  afterEach(async () => {
    client?.close();
    await handle?.close();
  });

  it("settles each event of a batch from its own result", async () => {
    const c = await serve({
      record: (call, cb) => {
        const results = call.request.events.map((e) =>
          e.name === "msg:complete" ? { eventId: e.id, sequence: "0", duplicate: false, code: grpc.status.UNAVAILABLE, error: "store down" } : { eventId: e.id, sequence: "1", duplicate: false, code: 0, error: "" },
        );
        cb(null, { eventId: "", sequence: "0", duplicate: false, results });
      },
    });
    const record = outcomesRecorder(c, 5000);
    const got = await Promise.allSettled([record(ev("x1")), record(ev("x2", "msg:complete")), record(ev("x3"))]);
    expect(got.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((got[1] as PromiseRejectedResult).reason).toBeInstanceOf(ReportError);
    expect(((got[1] as PromiseRejectedResult).reason as Error).message).toMatch(/msg:complete: store down/);
  });

  it("falls back to one call per event when the server refuses batches (an older delivery-events)", async () => {
    const seen: string[] = [];
    let calls = 0;
    const c = await serve({
      record: (call, cb) => {
        calls += 1;
        const e = call.request.event;
        if (!e) {
          cb({ code: grpc.status.INVALID_ARGUMENT, details: 'event.name must be a colon-separated lower-case name, got ""' });
          return;
        }
        seen.push(e.id);
        cb(null, { eventId: e.id, sequence: "1", duplicate: false, results: [] });
      },
    });
    const record = outcomesRecorder(c, 5000);
    await Promise.all([record(ev("o1")), record(ev("o2"))]);
    expect(seen).toEqual(["o1", "o2"]);
    expect(calls).toBe(3);
    await Promise.all([record(ev("o3")), record(ev("o4"))]); // no batch tried for a while
    expect(calls).toBe(5);
  });

  it("rejects every event with ReportError when delivery-events is down", async () => {
    const c = new OutcomesClient(`127.0.0.1:${await freePort()}`, grpc.credentials.createInsecure());
    try {
      const record = outcomesRecorder(c, 2000);
      const got = await Promise.allSettled([record(ev("d1")), record(ev("d2"))]);
      expect(got.map((r) => r.status === "rejected" && r.reason instanceof ReportError)).toEqual([true, true]);
    } finally {
      c.close();
    }
  });
});
