import { edgeSectionSchema } from "./config";
import { LineBatcher, portClash, resolveWorkers, WORKER_INDEX_ENV, workerEnvironment, workerPorts, type WorkerReport } from "./cluster";

describe("edge.workers", () => {
  it.each([
    [{}, 1],
    [{ workers: 2 }, 2],
    [{ workers: "auto" }, "auto"],
  ])("config %j -> %j", (raw, want) => {
    expect(edgeSectionSchema.parse(raw).workers).toBe(want);
  });

  it.each([0, -1, 1.5, 65, "many"])("refuses %j", (workers) => {
    expect(edgeSectionSchema.safeParse({ workers }).success).toBe(false);
  });

  it.each([
    [1, 8, 1],
    [3, 8, 3],
    ["auto", 2, 2],
    ["auto", 0, 1],
  ] as const)("resolveWorkers(%j) with %d cores is %d", (setting, cores, want) => {
    expect(resolveWorkers(setting, cores)).toBe(want);
  });
});

describe("per-worker ports", () => {
  const section = (http: number, listen: string, advertise?: string) =>
    edgeSectionSchema.parse({ http: { port: http }, grpc: { listen, ...(advertise === undefined ? {} : { advertise }) } });

  it("configured ports: HTTP base + 1 + i (the primary keeps the base), gRPC listen and advertise base + i", () => {
    const ports = workerPorts(section(9101, "0.0.0.0:50051", "edge.example:50051"), 2);
    expect(ports).toEqual([
      { httpPort: 9102, grpcListen: "0.0.0.0:50051", grpcAdvertise: "edge.example:50051" },
      { httpPort: 9103, grpcListen: "0.0.0.0:50052", grpcAdvertise: "edge.example:50052" },
    ]);
  });

  it("IPv6 listen addresses keep their brackets", () => {
    const [, second] = workerPorts(section(9101, "[::1]:50051"), 2);
    expect(second?.grpcListen).toBe("[::1]:50052");
  });

  it("port 0 stays 0: each worker binds a free port itself and reports it (nothing probed and released here)", () => {
    expect(workerPorts(section(0, "127.0.0.1:0", "edge.example:0"), 2)).toEqual([
      { httpPort: 0, grpcListen: "127.0.0.1:0", grpcAdvertise: "edge.example:0" },
      { httpPort: 0, grpcListen: "127.0.0.1:0", grpcAdvertise: "edge.example:0" },
    ]);
  });

  it("the worker's environment overrides its ports and makes it a single edge", () => {
    expect(workerEnvironment(1, { httpPort: 9103, grpcListen: "[::1]:50052", grpcAdvertise: "edge:50052" })).toEqual({
      [WORKER_INDEX_ENV]: "1",
      POSTERN_EDGE__WORKERS: "1",
      POSTERN_EDGE__HTTP__PORT: "9103",
      POSTERN_EDGE__GRPC__LISTEN: '"[::1]:50052"',
      POSTERN_EDGE__GRPC__ADVERTISE: '"edge:50052"',
    });
  });
});

describe("portClash (the primary's check of what workers report)", () => {
  const report = (index: number, grpcPort: number, httpPort: number, advertised = `127.0.0.1:${grpcPort}`): WorkerReport => ({
    index,
    httpPort,
    grpcListen: `127.0.0.1:${grpcPort}`,
    grpcAdvertised: advertised,
  });
  const running = [report(0, 40001, 41001), report(1, 40002, 41002)];

  it.each([
    ["distinct ports", report(2, 40003, 41003), undefined],
    ["the same worker again (a restart)", report(1, 40002, 41002), undefined],
    ["a gRPC port another worker listens on", report(2, 40001, 41003), 0],
    ["an address another worker advertises", report(2, 40003, 41003, "127.0.0.1:40002"), 1],
    ["an HTTP port another worker serves", report(2, 40003, 41002), 1],
  ])("%s", (_name, candidate, wantOther) => {
    expect(portClash(candidate, running)?.index).toBe(wantOther);
  });

  it("HTTP port 0 (metrics off the worker) never clashes", () => {
    expect(portClash(report(2, 40003, 0), [report(0, 40001, 0)])).toBeUndefined();
  });
});

describe("LineBatcher (the edge's stdout)", () => {
  it("writes the lines of one loop turn together, whole lines of at most 4096 characters per write", async () => {
    const writes: string[] = [];
    const out = new LineBatcher({ write: (chunk: string) => writes.push(chunk) });
    out.write("a\n");
    out.write("b\n");
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(["a\nb\n"]);
    const line = `${"x".repeat(999)}\n`;
    for (let i = 0; i < 10; i++) out.write(line);
    await new Promise((r) => setImmediate(r));
    expect(writes.slice(1).map((w) => w.length)).toEqual([4000, 4000, 2000]);
    out.write("last\n");
    out.flush();
    expect(writes.at(-1)).toBe("last\n");
  });
});
