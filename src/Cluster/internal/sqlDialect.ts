/**
 * What differs between the SQL stores: the clock expression, where fences
 * come from, how a batch travels (a JSON array unpacked by the database), and
 * the DDL. Everything else is one module (`sqlStore.ts`).
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Effect } from "effect"

/** The columns of one claim request in a batch (`name`, `kind`, `relocate`, `role`, `args` as hex). */
export interface ClaimRow {
  readonly name: string
  readonly kind: string
  readonly relocate: boolean
  readonly role: string | null
  readonly args: string | null
}

export interface Dialect {
  readonly name: "pg" | "sqlite"
  /** The store's clock, ms since the epoch, as a SQL expression. */
  readonly now: Fragment
  /**
   * Reserves `count` fences. The first statement of every writing
   * transaction on SQLite (it takes the write lock at once, so a transaction
   * never has to upgrade a read lock); nothing on PostgreSQL (a `SEQUENCE`).
   * Returns the base: fences are `base + 1 .. base + count`.
   */
  readonly reserve: (count: number) => Effect.Effect<number, SqlError>
  /** The fence of the row at position `index` (a 0-based SQL expression) of a batch. */
  readonly fence: (base: number, index: Fragment) => Fragment
  /** The rows of a JSON array of `ClaimRow` with an `i` column (position, 0-based). */
  readonly claimRows: (json: string) => Fragment
  /** The elements of a JSON array of strings, as a one-column subquery (`value`). */
  readonly strings: (json: string) => Fragment
  /** The position of `column` in a JSON array of strings (a scalar subquery). */
  readonly positionOf: (json: string, column: Fragment) => Fragment
  /** Hex text to bytes. */
  readonly unhex: (column: Fragment) => Fragment
  /** Locks the node row read by a claim against a concurrent `markDead` until commit. */
  readonly forShare: Fragment
  /** Serializes migrations across processes (inside the migration's transaction). */
  readonly lockMigrations: Effect.Effect<void, SqlError>
  /** Run once per connection before anything else. */
  readonly setup: Effect.Effect<void, SqlError>
  /** Lock contention, deadlock or serialization failure: retry the transaction. */
  readonly isTransient: (error: SqlError) => boolean
  /** Migrations, in order: each is a list of statements. */
  readonly migrations: ReadonlyArray<ReadonlyArray<string>>
}

const code = (error: SqlError): string => {
  const cause = error.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : ""
}

const tables = (types: {
  readonly bigint: string
  readonly bool: string
  readonly bytes: string
  readonly small: string
}) => [
  `CREATE TABLE ea_meta (id ${types.small} PRIMARY KEY CHECK (id = 1), version ${types.bigint} NOT NULL, fence ${types.bigint} NOT NULL)`,
  `INSERT INTO ea_meta (id, version, fence) VALUES (1, 0, 0)`,
  `CREATE TABLE ea_nodes (
    node_id text NOT NULL,
    epoch ${types.bigint} NOT NULL,
    address text NOT NULL,
    kinds text NOT NULL,
    roles text NOT NULL,
    host_id text,
    pid integer,
    pid_start ${types.bigint},
    status text NOT NULL CHECK (status IN ('up', 'leaving', 'left', 'dead')),
    joined_version ${types.bigint} NOT NULL,
    version ${types.bigint} NOT NULL,
    expires_at ${types.bigint} NOT NULL,
    updated_at ${types.bigint} NOT NULL,
    PRIMARY KEY (node_id, epoch))`,
  `CREATE TABLE ea_actors (
    name text PRIMARY KEY,
    kind text NOT NULL,
    node_id text NOT NULL,
    node_epoch ${types.bigint} NOT NULL,
    fence ${types.bigint} NOT NULL,
    relocate ${types.bool} NOT NULL,
    role text,
    args ${types.bytes},
    updated_at ${types.bigint} NOT NULL)`,
  `CREATE INDEX ea_actors_owner ON ea_actors (node_id, node_epoch)`,
  `CREATE TABLE ea_ticks (ref text NOT NULL, tick_at ${types.bigint} NOT NULL, claimed_at ${types.bigint} NOT NULL, PRIMARY KEY (ref, tick_at))`
]

/** PostgreSQL: fences and epochs from a `SEQUENCE`, `clock_timestamp()`, `json_to_recordset`. */
export const pg = (sql: SqlClient): Dialect => ({
  name: "pg",
  now: sql.literal("(extract(epoch FROM clock_timestamp()) * 1000)::bigint"),
  reserve: () => Effect.succeed(0),
  fence: () => sql.literal("nextval('ea_seq')"),
  claimRows: (json) =>
    // Fences come from the sequence: no position needed.
    sql`(SELECT 0 AS i, name, kind, relocate, role, args
      FROM json_to_recordset(${json}::json) AS j(name text, kind text, relocate boolean, role text, args text))`,
  strings: (json) => sql`(SELECT json_array_elements_text(${json}::json) AS value)`,
  positionOf: () => sql.literal("0"),
  unhex: (column) => sql`decode(${column}, 'hex')`,
  forShare: sql.literal("FOR SHARE"),
  lockMigrations: Effect.asVoid(sql`SELECT pg_advisory_xact_lock(7469617374)`),
  setup: Effect.void,
  // serialization_failure, deadlock_detected, lock_not_available
  isTransient: (error) => ["40001", "40P01", "55P03"].includes(code(error)),
  migrations: [["CREATE SEQUENCE ea_seq", ...tables({ bigint: "bigint", bool: "boolean", bytes: "bytea", small: "smallint" })]]
})

/** SQLite: a counter row in `ea_meta`, `unixepoch('subsec')`, `json_each`. */
export const sqlite = (sql: SqlClient): Dialect => ({
  name: "sqlite",
  now: sql.literal("CAST(unixepoch('subsec') * 1000 AS INTEGER)"),
  reserve: (count) =>
    Effect.map(
      sql<{ readonly base: number }>`UPDATE ea_meta SET fence = fence + ${count} WHERE id = 1 RETURNING fence - ${count} AS base`,
      (rows) => Number(rows[0]?.base ?? 0)
    ),
  fence: (base, index) => sql`(${base} + 1 + ${index})`,
  claimRows: (json) =>
    sql`(SELECT j.key AS i, j.value ->> 'name' AS name, j.value ->> 'kind' AS kind,
      j.value ->> 'relocate' AS relocate, j.value ->> 'role' AS role, j.value ->> 'args' AS args
      FROM json_each(${json}) AS j)`,
  strings: (json) => sql`(SELECT value FROM json_each(${json}))`,
  positionOf: (json, column) => sql`(SELECT j.key FROM json_each(${json}) AS j WHERE j.value = ${column})`,
  unhex: (column) => sql`unhex(${column})`,
  forShare: sql.literal(""),
  lockMigrations: Effect.void,
  // better-sqlite3 waits busy_timeout inside the call (blocking the event loop): keep it short, retry on a Schedule.
  setup: Effect.asVoid(Effect.zipRight(sql`PRAGMA busy_timeout = 20`, sql`PRAGMA synchronous = NORMAL`)),
  isTransient: (error) => code(error).startsWith("SQLITE_BUSY") || code(error).startsWith("SQLITE_LOCKED"),
  migrations: [tables({ bigint: "integer", bool: "integer", bytes: "blob", small: "integer" })]
})
