/** PostgreSQL for integration tests: 127.0.0.1:5432, database `test`, trust auth. */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"

const user = process.env.PGUSER ?? "postgres"

/** The URL of the test database, with `search_path` set to `schema` (through another port: a proxy). */
export const pgUrl = (schema?: string, port = 5432): string =>
  `postgres://${user}@127.0.0.1:${port}/test` +
  (schema === undefined ? "" : `?options=${encodeURIComponent(`-c search_path=${schema}`)}`)

/** Runs one statement on a short-lived connection (schema setup and teardown). */
export const pgAdmin = (statement: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(pgUrl()), maxConnections: 1 })),
    Effect.asVoid
  )
