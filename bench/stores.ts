/**
 * Where the cluster benchmarks keep their stores: a temporary directory for
 * SQLite, and a PostgreSQL schema of their own on 127.0.0.1:5432 `test`,
 * both removed when the scope closes.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import * as os from "node:os"

const pgUrl = `postgres://${process.env.PGUSER ?? "postgres"}@127.0.0.1:5432/test`

/** A temporary directory, removed with the scope. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(`${os.tmpdir()}/${prefix}`)),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** A fresh PostgreSQL schema, dropped with the scope: the URL whose search path is it. */
export const pgSchema = (prefix: string) =>
  Effect.gen(function*() {
    const schema = `${prefix}_${process.pid}`
    const admin = (statement: string) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
        Effect.provide(PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 1, connectTimeout: "2 seconds" }))
      )
    yield* Effect.acquireRelease(admin(`CREATE SCHEMA ${schema}`), () => Effect.orDie(admin(`DROP SCHEMA ${schema} CASCADE`)))
    return `${pgUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
  })
