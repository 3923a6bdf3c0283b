import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "./errors";
import { runService, type RunServiceOptions, type ServiceContext } from "./run";
import { httpConfigSchema, logConfigSchema } from "./schemas";
import { memoryDestination } from "./testlog";

const schema = z.object({
  log: logConfigSchema.prefault({}),
  dane_outbound: z.strictObject({ http: httpConfigSchema.prefault({}), greeting: z.string().default("hi") }).prefault({}),
});
type Config = z.infer<typeof schema>;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "service-kit-run-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const contexts: Array<ServiceContext<unknown>> = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.shutdown.trigger("test over")));
  jest.restoreAllMocks();
});

async function run(opts: Partial<RunServiceOptions<typeof schema>> = {}): Promise<ServiceContext<Config>> {
  const ctx = await runService({
    name: "dane-outbound",
    schema,
    argv: [],
    env: {},
    installSignalHandlers: false,
    exitOnError: false,
    logDestination: memoryDestination().destination,
    start: () => Promise.resolve(),
    ...opts,
  });
  contexts.push(ctx);
  return ctx;
}

const status = async (port: number, path: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}${path}`)).status;

describe("runService", () => {
  it("starts http from config[name with _].http, runs start, then reports started", async () => {
    let seen: ServiceContext<Config> | undefined;
    let healthyDuringStart = 0;
    const ctx = await run({
      config: { dane_outbound: { greeting: "hello" } },
      start: async (c) => {
        seen = c;
        healthyDuringStart = await status(c.httpPort, "/healthz");
      },
    });
    expect(seen).toBe(ctx);
    expect(ctx.name).toBe("dane-outbound");
    expect(ctx.config.dane_outbound.greeting).toBe("hello");
    expect(ctx.httpPort).toBeGreaterThan(0);
    expect(healthyDuringStart).toBe(503);
    expect(await status(ctx.httpPort, "/healthz")).toBe(200);
    expect(await status(ctx.httpPort, "/readyz")).toBe(200);
    expect(await fetch(`http://127.0.0.1:${ctx.httpPort}/metrics`).then((r) => r.text())).toContain('service="dane-outbound"');
    await ctx.shutdown.trigger("done");
    await expect(fetch(`http://127.0.0.1:${ctx.httpPort}/healthz`)).rejects.toThrow();
  });

  type How = (file: string) => { argv?: string[]; env?: NodeJS.ProcessEnv };
  it.each<[string, How]>([
    ["-c FILE", (f: string) => ({ argv: ["--inspect", "-c", f, "extra"] })],
    ["--config FILE", (f: string) => ({ argv: ["--config", f] })],
    ["--config=FILE", (f: string) => ({ argv: [`--config=${f}`, "--unknown=1"] })],
    ["POSTERN_CONFIG", (f: string) => ({ env: { POSTERN_CONFIG: f } })],
  ])("reads the file named by %s, env overrides on top", async (_name, how) => {
    const file = join(dir, "stack.yaml");
    writeFileSync(file, "log: { level: warn }\ndane_outbound: { greeting: from-file, http: { host: 127.0.0.1 } }\n");
    const opts = how(file);
    const ctx = await run({ ...opts, env: { ...opts.env, POSTERN_LOG__LEVEL: "debug" } });
    expect(ctx.config.dane_outbound.greeting).toBe("from-file");
    expect(ctx.config.log.level).toBe("debug");
    expect(ctx.logger.level).toBe("debug");
  });

  it("env overrides apply to opts.config too", async () => {
    const ctx = await run({ config: {}, env: { POSTERN_DANE_OUTBOUND__GREETING: "env" } });
    expect(ctx.config.dane_outbound.greeting).toBe("env");
  });

  it("the http selector wins; config.http is the fallback", async () => {
    const free = await run();
    const port = free.httpPort;
    await free.shutdown.trigger("free the port");
    const selected = await run({ http: () => ({ port }) });
    expect(selected.httpPort).toBe(port);
    await selected.shutdown.trigger("free the port");
    const loose = z.object({ http: httpConfigSchema.optional() });
    const ctx = await runService({
      name: "x",
      schema: loose,
      config: { http: { port } },
      env: {},
      installSignalHandlers: false,
      exitOnError: false,
      logDestination: memoryDestination().destination,
      start: () => Promise.resolve(),
    });
    contexts.push(ctx);
    expect(ctx.httpPort).toBe(port);
  });

  it("a bad config with exitOnError:false throws ConfigError naming the option", async () => {
    const err = (await run({ config: { dane_outbound: { http: { port: "x" }, greting: "typo" } } }).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues.map((i) => i.path).sort()).toEqual(["dane_outbound.greting", "dane_outbound.http.port"]);
    expect(err.message).toContain("invalid configuration: dane_outbound.greting: unknown option");
  });

  it.each([
    ["missing file", { argv: ["-c", "/nonexistent/postern.yaml"] }, /cannot read file/],
    ["--config without a value", { argv: ["--config"] }, /--config needs a file name/],
  ])("%s is a ConfigError", async (_name, opts, want) => {
    await expect(run(opts)).rejects.toThrow(want);
  });

  it("a bad config with exitOnError prints to stderr and exits 78", async () => {
    const exit = jest.spyOn(process, "exit").mockImplementation((code) => {
      throw new Error(`exit ${String(code)}`);
    });
    const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    await expect(run({ exitOnError: true, config: { log: { level: "loud" } } })).rejects.toThrow("exit 78");
    expect(exit).toHaveBeenCalledWith(78);
    expect(String(stderr.mock.calls[0]?.[0])).toMatch(/^dane-outbound: invalid configuration: log\.level: /);
  });

  it("a failing start is logged, shuts down, and is rethrown", async () => {
    const { destination, lines } = memoryDestination();
    let ctx: ServiceContext<Config> | undefined;
    const boom = new Error("cannot connect");
    await expect(
      run({
        logDestination: destination,
        start: (c) => {
          ctx = c;
          return Promise.reject(boom);
        },
      }),
    ).rejects.toBe(boom);
    expect(ctx?.shutdown.signal.aborted).toBe(true);
    await expect(fetch(`http://127.0.0.1:${ctx?.httpPort}/healthz`)).rejects.toThrow();
    const failed = lines.find((l) => l.msg === "service start failed");
    expect(failed).toMatchObject({ service: "dane-outbound", err: { message: "cannot connect" } });
    expect(lines.map((l) => l.msg)).toContain("shutdown complete");
  });

  it("exits 1 on start failure when exitOnError", async () => {
    const exit = jest.spyOn(process, "exit").mockImplementation((code) => {
      throw new Error(`exit ${String(code)}`);
    });
    await expect(run({ exitOnError: true, start: () => Promise.reject(new Error("no")) })).rejects.toThrow("exit 1");
    expect(exit).toHaveBeenCalledWith(1);
  });
});
