/** The Postgres sink: batched parameterised inserts into postern_delivery_events, and its migrations. */
import { type ClientBase, Pool } from "pg";
import type { Event } from "@postern/proto";
import { COMPONENT, createMigrationsTable, insertStatement, MIGRATIONS_TABLE, pendingMigrations } from "./postgres-schema";
import type { SinkWriter } from "./runner";

/** Applies the migrations this client's database lacks, under an advisory lock (several instances may start at once). Returns the versions applied. */
export async function applyMigrations(client: ClientBase): Promise<number[]> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('postern_delivery_events'))");
    await client.query(createMigrationsTable);
    const done = await client.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE} WHERE component = $1`, [COMPONENT]);
    const pending = pendingMigrations(done.rows.map((r) => r.version));
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (component, version) VALUES ($1, $2)`, [COMPONENT, migration.version]);
    }
    await client.query("COMMIT");
    return pending.map((m) => m.version);
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/** `postern events migrate --postgres URL`: connects, migrates, disconnects. */
export async function migratePostgres(url: string): Promise<number[]> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    const client = await pool.connect();
    try {
      return await applyMigrations(client);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

export async function createPostgresWriter(opts: { url: string; migrate: boolean; onMigrated?: (versions: number[]) => void }): Promise<SinkWriter> {
  const pool = new Pool({ connectionString: opts.url, max: 2, connectionTimeoutMillis: 10_000 });
  pool.on("error", () => undefined); // an idle client lost its connection; the next query reconnects
  if (opts.migrate) {
    const client = await pool.connect();
    try {
      opts.onMigrated?.(await applyMigrations(client));
    } finally {
      client.release();
    }
  }
  return {
    async write(events: Event[]): Promise<void> {
      const { text, values } = insertStatement(events);
      await pool.query(text, values);
    },
    close: () => pool.end(),
  };
}
