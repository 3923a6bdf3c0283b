/**
 * The Postgres sink's table, the TPDA fields as columns (documented in
 * docs/adr/0004-delivery-events-sinks.md), its migrations, and the
 * parameterised batch insert. Pure: SQL text and values only.
 */
import type { Event } from "@postern/proto";

export const TABLE = "postern_delivery_events";
export const MIGRATIONS_TABLE = "postern_schema_migrations";
/** Migrations of this table are recorded under this component name. */
export const COMPONENT = "delivery_events";

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: "table postern_delivery_events",
    sql: `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  id                    text PRIMARY KEY,
  sequence              bigint NOT NULL,
  name                  text NOT NULL,
  time                  timestamptz NOT NULL,
  message_id            text NOT NULL DEFAULT '',
  sender_address        text,
  delivery_ip           text,
  delivery_port         integer,
  delivery_fqdn         text,
  delivery_local_part   text,
  delivery_domain       text,
  delivery_confirmation text,
  defer_errno           integer,
  defer_errstr          text,
  router_name           text,
  transport_name        text,
  host                  text,
  attributes            jsonb NOT NULL DEFAULT '{}'::jsonb,
  stored_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ${TABLE}_message_id_idx ON ${TABLE} (message_id);
CREATE INDEX IF NOT EXISTS ${TABLE}_time_idx ON ${TABLE} (time);
CREATE INDEX IF NOT EXISTS ${TABLE}_delivery_domain_idx ON ${TABLE} (delivery_domain);`,
  },
];

export const createMigrationsTable = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  component  text NOT NULL,
  version    integer NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (component, version)
)`;

/** Migrations not yet applied, in order. */
export function pendingMigrations(applied: readonly number[]): Migration[] {
  const done = new Set(applied);
  return migrations.filter((m) => !done.has(m.version));
}

export const COLUMNS = [
  "id",
  "sequence",
  "name",
  "time",
  "message_id",
  "sender_address",
  "delivery_ip",
  "delivery_port",
  "delivery_fqdn",
  "delivery_local_part",
  "delivery_domain",
  "delivery_confirmation",
  "defer_errno",
  "defer_errstr",
  "router_name",
  "transport_name",
  "host",
  "attributes",
] as const;

/** Postgres refuses NUL in text and jsonb; an event carrying one must not block the sink for ever. */
const clean = (value: string): string => value.replace(/\0/g, "");
const textOrNull = (value: string): string | null => (value === "" ? null : clean(value));

export type Row = Array<string | number | Date | null>;

export function eventRow(event: Event): Row {
  const attributes = Object.fromEntries(Object.entries(event.attributes).map(([k, v]) => [clean(k), clean(v)]));
  return [
    clean(event.id),
    event.sequence,
    clean(event.name),
    event.time ?? new Date(0),
    clean(event.messageId),
    textOrNull(event.senderAddress),
    textOrNull(event.deliveryIp),
    event.deliveryPort === 0 ? null : event.deliveryPort,
    textOrNull(event.deliveryFqdn),
    textOrNull(event.deliveryLocalPart),
    textOrNull(event.deliveryDomain),
    textOrNull(event.deliveryConfirmation),
    event.deferErrno === 0 ? null : event.deferErrno,
    textOrNull(event.deferErrstr),
    textOrNull(event.routerName),
    textOrNull(event.transportName),
    textOrNull(event.host),
    JSON.stringify(attributes),
  ];
}

/** One INSERT for the batch; an id already stored is skipped (ON CONFLICT DO NOTHING), so redelivery is harmless. */
export function insertStatement(events: readonly Event[]): { text: string; values: Row } {
  const values: Row = [];
  const tuples = events.map((event) => {
    const row = eventRow(event);
    const placeholders = row.map((value, i) => `$${values.length + i + 1}`);
    values.push(...row);
    return `(${placeholders.join(", ")})`;
  });
  return { text: `INSERT INTO ${TABLE} (${COLUMNS.join(", ")}) VALUES ${tuples.join(", ")} ON CONFLICT (id) DO NOTHING`, values };
}
