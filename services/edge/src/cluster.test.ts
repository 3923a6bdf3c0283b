import { edgeSectionSchema } from "./config";
import { LineBatcher, resolveWorkers, WORKER_INDEX_ENV, workerEnvironment, workerPorts } from "./cluster";

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

  it("configured ports: HTTP base + 1 + i (the primary keeps the base), gRPC listen and advertise base + i", async () => {
    const ports = await workerPorts(section(9101, "0.0.0.0:50051", "edge.example:50051"), 2);
    expect(ports).toEqual([
      { httpPort: 9102, grpcListen: "0.0.0.0:50051", grpcAdvertise: "edge.example:50051" },
      { httpPort: 9103, grpcListen: "0.0.0.0:50052", grpcAdvertise: "edge.example:50052" },
    ]);
  });

  it("IPv6 listen addresses keep their brackets", async () => {
    const [, second] = await workerPorts(section(9101, "[::1]:50051"), 2);
    expect(second?.grpcListen).toBe("[::1]:50052");
  });

  it("port 0: a distinct free port per worker (a shared port 0 would be one listener for all of them)", async () => {
    const ports = await workerPorts(section(0, "127.0.0.1:0"), 3);
    const grpc = ports.map((p) => Number(p.grpcListen.split(":")[1]));
    expect(grpc.every((p) => p > 0)).toBe(true);
    expect(new Set(grpc).size).toBe(3);
    expect(new Set(ports.map((p) => p.httpPort)).size).toBe(3);
    expect(ports.every((p) => p.httpPort > 0 && p.grpcListen.startsWith("127.0.0.1:"))).toBe(true);
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
