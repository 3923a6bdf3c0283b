import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { envOverrides, formatPath, loadConfig, parseConfig } from "./config";
import { ConfigError } from "./errors";
import {
  grpcClientConfigSchema,
  grpcServerConfigSchema,
  hostPortSchema,
  httpConfigSchema,
  logConfigSchema,
  parseHostPort,
  stringList,
  stringListOf,
} from "./schemas";

// A stack config the way services build theirs: shared sections, one strict section of its own.
const schema = z.object({
  log: logConfigSchema.prefault({}),
  nats: z.object({ servers: stringList.default(["nats://127.0.0.1:4222"]), token: z.string().optional() }).prefault({}),
  edge: z
    .strictObject({
      http: httpConfigSchema.prefault({}),
      grpc: grpcServerConfigSchema.prefault({}),
      smtp_listen: stringListOf(hostPortSchema).default(["127.0.0.1:2525"]),
      routes: z.record(z.string(), z.string()).default({}),
    })
    .prefault({}),
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "service-kit-config-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("loadConfig", () => {
  const cases: Array<{ name: string; file?: [string, string]; env?: NodeJS.ProcessEnv; want: (c: z.infer<typeof schema>) => void }> = [
    {
      name: "defaults with no file",
      want: (c) => {
        expect(c.log.level).toBe("info");
        expect(c.nats.servers).toEqual(["nats://127.0.0.1:4222"]);
        expect(c.edge.http).toEqual({ host: "127.0.0.1", port: 0 });
        expect(c.edge.grpc.listen).toBe("127.0.0.1:0");
      },
    },
    {
      name: "YAML file",
      file: ["a.yaml", "log: { level: debug }\nedge:\n  http: { port: 9101 }\n  smtp_listen: ['[::1]:25', '0.0.0.0:587']\n"],
      want: (c) => {
        expect(c.log.level).toBe("debug");
        expect(c.edge.http).toEqual({ host: "127.0.0.1", port: 9101 });
        expect(c.edge.smtp_listen).toEqual(["[::1]:25", "0.0.0.0:587"]);
      },
    },
    {
      name: ".yml extension and an empty file",
      file: ["empty.yml", ""],
      want: (c) => expect(c.log.level).toBe("info"),
    },
    {
      name: "JSON file",
      file: ["a.json", JSON.stringify({ nats: { servers: ["nats://a:4222", "nats://b:4222"] }, edge: { grpc: { listen: "0.0.0.0:50051" } } })],
      want: (c) => {
        expect(c.nats.servers).toEqual(["nats://a:4222", "nats://b:4222"]);
        expect(c.edge.grpc.listen).toBe("0.0.0.0:50051");
      },
    },
    {
      name: "env overrides a scalar, nested, over the file",
      file: ["b.yaml", "log: { level: debug }\nedge: { http: { host: 0.0.0.0, port: 9101 } }\n"],
      env: { POSTERN_LOG__LEVEL: "warn", POSTERN_EDGE__HTTP__PORT: "9200", HOME: "/root", POSTERN_CONFIG: "ignored.yaml" },
      want: (c) => {
        expect(c.log.level).toBe("warn");
        expect(c.edge.http).toEqual({ host: "0.0.0.0", port: 9200 }); // host kept: merged deeply
      },
    },
    {
      name: "env JSON array value",
      env: { POSTERN_NATS__SERVERS: '["nats://10.0.0.1:4222","nats://10.0.0.2:4222"]' },
      want: (c) => expect(c.nats.servers).toEqual(["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]),
    },
    {
      name: "env comma list into a stringList, single underscores kept in the key",
      env: { POSTERN_EDGE__SMTP_LISTEN: "127.0.0.1:25, 127.0.0.1:587" },
      want: (c) => expect(c.edge.smtp_listen).toEqual(["127.0.0.1:25", "127.0.0.1:587"]),
    },
    {
      name: "env JSON object merged into a section",
      file: ["c.yaml", "edge: { routes: { a.example: 'smtp:a' } }\n"],
      env: { POSTERN_EDGE__ROUTES: '{"b.example":"smtp:b"}' },
      want: (c) => expect(c.edge.routes).toEqual({ "a.example": "smtp:a", "b.example": "smtp:b" }),
    },
    {
      name: "env value that is not JSON stays a string",
      env: { POSTERN_NATS__TOKEN: "s3cr3t{" },
      want: (c) => expect(c.nats.token).toBe("s3cr3t{"),
    },
  ];
  it.each(cases)("$name", ({ file: f, env, want }) => {
    want(loadConfig(schema, { file: f === undefined ? undefined : file(...f), env: env ?? {} }));
  });
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected ConfigError");
}

describe("ConfigError", () => {
  const cases: Array<{ name: string; raw: unknown; wantLines: unknown[] }> = [
    {
      name: "bad host:port in a list",
      raw: { edge: { smtp_listen: ["nope"] } },
      wantLines: ["invalid configuration: edge.smtp_listen[0]: expected host:port"],
    },
    {
      name: "unknown key in a strictObject",
      raw: { edge: { smtp_lisen: ["127.0.0.1:25"], http: { prot: 1 } } },
      wantLines: ["invalid configuration: edge.http.prot: unknown option", "invalid configuration: edge.smtp_lisen: unknown option"],
    },
    {
      name: "every issue, one line each",
      raw: { log: { level: "loud" }, edge: { http: { port: 70000 }, grpc: { listen: "x:99999" } } },
      wantLines: [
        expect.stringMatching(/^invalid configuration: log\.level: /),
        expect.stringMatching(/^invalid configuration: edge\.http\.port: /),
        "invalid configuration: edge.grpc.listen: expected host:port",
      ],
    },
    {
      name: "mTLS without a CA",
      raw: { edge: { grpc: { tls: { cert_file: "c", key_file: "k", require_client_cert: true } } } },
      wantLines: ["invalid configuration: edge.grpc.tls.ca_file: required when require_client_cert is true"],
    },
  ];
  it.each(cases)("$name", ({ raw, wantLines }) => {
    const err = configError(() => parseConfig(schema, raw));
    expect(err.name).toBe("ConfigError");
    expect(err.code).toBe("POSTERN_CONFIG_INVALID");
    expect(err.message.split("\n")).toEqual(wantLines);
    expect(err.issues).toHaveLength(wantLines.length);
  });

  it("never echoes the offending value", () => {
    const err = configError(() => parseConfig(z.object({ nats: z.object({ token: z.number() }) }), { nats: { token: "hunter2" } }));
    expect(err.message).toMatch(/^invalid configuration: nats\.token: /);
    expect(err.message).not.toContain("hunter2");
  });

  it.each([
    ["missing file", () => join(dir, "absent.yaml"), /absent\.yaml: cannot read file \(ENOENT\)/],
    ["bad YAML", () => file("bad.yaml", "a: [1\n"), /bad\.yaml: cannot parse YAML: /],
    ["bad JSON", () => file("bad.json", "{"), /bad\.json: cannot parse JSON: /],
    ["unknown extension", () => file("x.toml", ""), /x\.toml: unsupported file type/],
  ] as const)("%s", (_name, path, want) => {
    const err = configError(() => loadConfig(schema, { file: path(), env: {} }));
    expect(err.message).toMatch(want);
    expect(err.message.split("\n")).toHaveLength(1);
  });

  it("reports a bad env override under its option path", () => {
    const err = configError(() => loadConfig(schema, { env: { POSTERN_EDGE__HTTP__PORT: "http" } }));
    expect(err.issues.map((i) => i.path)).toEqual(["edge.http.port"]);
  });
});

describe("stringList", () => {
  it.each([
    [["a", "b"], ["a", "b"]],
    ["a,b", ["a", "b"]],
    [" a , b ,", ["a", "b"]],
    ["single", ["single"]],
    ["", []],
  ])("%j -> %j", (input, want) => expect(stringList.parse(input)).toEqual(want));
  it.each([[42], [[1]], [[""]]])("rejects %j", (input) => expect(stringList.safeParse(input).success).toBe(false));
  it("stringListOf with min and an item schema", () => {
    const list = stringListOf(hostPortSchema, { min: 1 });
    expect(list.parse("127.0.0.1:25,[::1]:25")).toEqual(["127.0.0.1:25", "[::1]:25"]);
    expect(list.safeParse("").success).toBe(false);
    expect(list.safeParse("a:1,b").error?.issues.map((i) => [i.path, i.message])).toEqual([[[1], "expected host:port"]]);
  });
});

describe("envOverrides", () => {
  it.each([
    [{ POSTERN_A__B__C: "1" }, { a: { b: { c: 1 } } }],
    [{ POSTERN_SMTP_LISTEN: "x" }, { smtp_listen: "x" }],
    [{ POSTERN_A: "true", POSTERN_B: "null", POSTERN_C: '"quoted"' }, { a: true, b: null, c: "quoted" }],
    [{ POSTERN_CONFIG: "/etc/postern.yaml", OTHER: "1" }, {}],
    [{ POSTERN_A____B: "1", POSTERN___PROTO____X: "1", POSTERN_CONSTRUCTOR__X: "1" }, {}],
  ] as const)("%j", (env, want) => expect(envOverrides(env)).toEqual(want));
});

describe("common schemas", () => {
  it.each([
    ["127.0.0.1:25", { host: "127.0.0.1", port: 25 }],
    ["[::1]:50051", { host: "::1", port: 50051 }],
    ["mx.example.org:0", { host: "mx.example.org", port: 0 }],
    ["host", undefined],
    ["host:65536", undefined],
    [":25", undefined],
    ["::1:25", undefined],
  ])("parseHostPort(%s)", (input, want) => expect(parseHostPort(input)).toEqual(want));

  it("grpc client defaults and tls pairing", () => {
    expect(grpcClientConfigSchema.parse({})).toEqual({ deadline_ms: 5000, keepalive_time_ms: 20_000, keepalive_timeout_ms: 10_000, keepalive_without_calls: true });
    expect(grpcClientConfigSchema.safeParse({ tls: { cert_file: "c" } }).success).toBe(false);
  });

  it("formatPath", () => {
    expect(formatPath(["nats", "servers", 0])).toBe("nats.servers[0]");
    expect(formatPath(["routes", "example.com"])).toBe('routes["example.com"]');
    expect(formatPath([])).toBe("");
  });
});
