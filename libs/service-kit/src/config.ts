import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { type z } from "zod";
import { ConfigError, type ConfigIssue } from "./errors";

/** Environment variable naming the config file; never read as an override. */
export const CONFIG_ENV = "POSTERN_CONFIG";
const ENV_PREFIX = "POSTERN_";
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Overrides from the environment: POSTERN_A__B=v -> { a: { b: v } }. Segments are lower-cased;
 * a value is JSON.parse'd when it parses, else kept as a string. POSTERN_CONFIG is skipped.
 */
export function envOverrides(env: NodeJS.ProcessEnv): Json {
  const out: Json = {};
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (value === undefined || !name.startsWith(ENV_PREFIX) || name === CONFIG_ENV) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split("__");
    if (path.some((seg) => seg === "" || FORBIDDEN_KEYS.has(seg))) continue;
    let node = out;
    for (const seg of path.slice(0, -1)) {
      const next = node[seg];
      node = isRecord(next) ? next : (node[seg] = {});
    }
    node[path[path.length - 1] as string] = parseEnvValue(value);
  }
  return out;
}

function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Plain objects merge key by key; anything else in `over` replaces what is in `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over;
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    out[key] = key in base ? deepMerge(base[key], value) : value;
  }
  return out;
}

/** Reads a YAML (.yml/.yaml) or JSON (.json) file; an empty file is {}. Throws ConfigError. */
export function readConfigFile(file: string): unknown {
  const ext = extname(file).toLowerCase();
  if (ext !== ".json" && ext !== ".yml" && ext !== ".yaml") {
    throw new ConfigError([{ path: "", message: `${file}: unsupported file type (use .yml, .yaml or .json)` }]);
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError([{ path: "", message: `${file}: cannot read file (${reason})` }], { cause: err });
  }
  try {
    const raw: unknown = ext === ".json" ? JSON.parse(text) : parseYaml(text);
    return raw ?? {};
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new ConfigError([{ path: "", message: `${file}: cannot parse ${ext === ".json" ? "JSON" : "YAML"}: ${first}` }], { cause: err });
  }
}

/** "nats.servers[0]", `routes["example.com"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function toIssues(error: z.ZodError): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) issues.push({ path: formatPath([...issue.path, key]), message: "unknown option" });
    } else {
      issues.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return issues;
}

/** Validates `raw` against `schema`; throws ConfigError naming every failing option path. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(toIssues(result.error), { cause: result.error });
  return result.data;
}

/**
 * Loads `file` (when given), merges the POSTERN_* environment overrides deeply over it and
 * validates the result. `env` defaults to process.env. Throws ConfigError.
 */
export function loadConfig<S extends z.ZodType>(schema: S, opts: { file?: string; env?: NodeJS.ProcessEnv }): z.infer<S> {
  const raw = opts.file === undefined ? {} : readConfigFile(opts.file);
  return parseConfig(schema, deepMerge(raw, envOverrides(opts.env ?? process.env)));
}
