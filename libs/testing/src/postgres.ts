import { execFile } from "node:child_process";
import { join } from "node:path";
import { announce, type Backend, loadTestcontainers, runtimeChoice } from "./backend";
import { findPostgresBinDir, POSTGRES_BIN_DIR_ENV, POSTGRES_INSTALL_HINT, postgresVersion, startLocalPostgres } from "./postgres-local";

/** A Postgres server for tests: user "postgres", database "postgres", trust authentication. */
export interface PostgresBackend extends Backend {
  /** postgres://postgres@127.0.0.1:P/postgres */
  url: string;
  /** Runs SQL through psql (-v ON_ERROR_STOP=1) and resolves with its unaligned output. */
  psql(sql: string): Promise<string>;
  /** The rows of one SELECT as JSON objects (json_agg over the query). */
  queryJson<T = Record<string, unknown>>(select: string): Promise<T[]>;
}

const IMAGE = "postgres:16";
const PSQL_ARGS = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", "postgres"];

function jsonQuery(select: string): string {
  return `SELECT coalesce(json_agg(q), '[]'::json) FROM (${select}) q`;
}

function withQueries(base: Omit<PostgresBackend, "psql" | "queryJson">, psql: (sql: string) => Promise<string>): PostgresBackend {
  return {
    ...base,
    psql,
    queryJson: async <T>(select: string): Promise<T[]> => JSON.parse((await psql(jsonQuery(select))).trim() || "[]") as T[],
  };
}

async function startLocal(why: string): Promise<PostgresBackend> {
  const binDir = findPostgresBinDir();
  if (binDir === undefined) {
    const lookedFor = process.env[POSTGRES_BIN_DIR_ENV] ? `${POSTGRES_BIN_DIR_ENV}=${process.env[POSTGRES_BIN_DIR_ENV]} holds no initdb and postgres` : "initdb and postgres are not installed (/usr/lib/postgresql/N/bin, PATH)";
    throw new Error(`cannot start postgres for tests: ${why}, and ${lookedFor}. Install it (${POSTGRES_INSTALL_HINT}) or start a Docker engine.`);
  }
  const [version, server] = await Promise.all([postgresVersion(binDir), startLocalPostgres(binDir)]);
  const host = "127.0.0.1";
  const psql = (sql: string): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(join(binDir, "psql"), [...PSQL_ARGS, "-h", host, "-p", String(server.port), "-c", sql], { timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`psql failed: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
  return withQueries(
    { url: `postgres://postgres@${host}:${server.port}/postgres`, host, port: server.port, via: "local-binary", why, version, stop: () => server.stop() },
    psql,
  );
}

async function startContainer(why: string): Promise<PostgresBackend> {
  const { GenericContainer, Wait } = loadTestcontainers();
  const container = await new GenericContainer(IMAGE)
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
    .withExposedPorts(5432)
    // The image's entrypoint starts the server twice (initialisation, then for real).
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withStartupTimeout(60_000)
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(5432);
  let stopping: Promise<void> | undefined;
  const psql = async (sql: string): Promise<string> => {
    const result = await container.exec(["psql", ...PSQL_ARGS, "-c", sql]);
    if (result.exitCode !== 0) throw new Error(`psql failed: ${result.output.trim()}`);
    return result.stdout;
  };
  return withQueries(
    {
      url: `postgres://postgres@${host}:${port}/postgres`,
      host,
      port,
      via: "testcontainers",
      why,
      version: IMAGE,
      stop: () =>
        (stopping ??= (async () => {
          await container.stop();
        })()),
    },
    psql,
  );
}

/**
 * Postgres on 127.0.0.1 and a free port: the image postgres:16 through testcontainers when a
 * container runtime answers, else the Debian binaries (apt-get install postgresql), run as the
 * `postgres` user when this process is root. POSTERN_TEST_BACKEND=local|containers forces one.
 */
export async function startPostgres(): Promise<PostgresBackend> {
  const choice = await runtimeChoice();
  const backend = choice.use === "testcontainers" ? await startContainer(choice.why) : await startLocal(choice.why);
  announce("postgres", backend);
  return backend;
}
