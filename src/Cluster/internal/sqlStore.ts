/**
 * The SQL store, one module for SQLite and PostgreSQL over `@effect/sql`.
 * The dialect (`sqlDialect.ts`) supplies the clock, the fence source, the
 * batch syntax and the DDL; the predicates that make the store safe are
 * written once, here.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Data, Effect, Option, Schedule } from "effect"
import { StoreUnavailable } from "../ClusterError.js"
import type {
  ClaimRequest,
  ClaimResult,
  Entry,
  HostProcess,
  Incarnation,
  Member,
  NodeStatus,
  Service,
  View
} from "../ClusterStore.js"
import * as Dialects from "./sqlDialect.js"
import type { ClaimRow, Dialect } from "./sqlDialect.js"

/** A transaction that changed nothing: rolled back, answered `false`. */
class NoChange extends Data.TaggedError("NoChange") {}

/** Claim batches larger than this are split (PostgreSQL's parameter and JSON sizes stay modest). */
const batchSize = 500

/**
 * Lock contention (SQLite's busy timeout is 20 ms), deadlocks and
 * serialization failures are retried: quickly at first, at most every 50 ms,
 * about 3 s in all.
 */
const transientRetry = Schedule.exponential("1 millis", 2).pipe(
  Schedule.union(Schedule.spaced("50 millis")),
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(60))
)

interface ActorRow {
  readonly name: string
  readonly kind: string
  readonly node_id: string
  readonly node_epoch: number | string
  readonly fence: number | string
  readonly relocate: boolean | number
  readonly role: string | null
  readonly args: Uint8Array | null
  readonly live?: boolean | number | null
}

interface NodeRow {
  readonly node_id: string
  readonly epoch: number | string
  readonly address: string
  readonly kinds: string
  readonly roles: string
  readonly host_id: string | null
  readonly pid: number | null
  readonly pid_start: number | string | null
  readonly status: NodeStatus
  readonly joined_version: number | string
  readonly version: number | string
  readonly expires_at: number | string
}

const toEntry = (row: ActorRow, live: boolean): Entry => ({
  name: row.name,
  kind: row.kind,
  owner: { nodeId: row.node_id, epoch: Number(row.node_epoch) },
  fence: Number(row.fence),
  relocate: Boolean(row.relocate),
  role: row.role ?? undefined,
  args: row.args === null ? undefined : new Uint8Array(row.args),
  live
})

const toMember = (row: NodeRow): Member => ({
  nodeId: row.node_id,
  epoch: Number(row.epoch),
  address: row.address,
  kinds: JSON.parse(row.kinds) as ReadonlyArray<string>,
  roles: JSON.parse(row.roles) as ReadonlyArray<string>,
  status: row.status,
  process: row.host_id === null || row.pid === null || row.pid_start === null
    ? undefined
    : { hostId: row.host_id, pid: row.pid, pidStart: Number(row.pid_start) } satisfies HostProcess,
  joinedVersion: Number(row.joined_version),
  version: Number(row.version),
  expiresAt: Number(row.expires_at)
})

const hex = (bytes: Uint8Array | undefined): string | null =>
  bytes === undefined ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

/** Builds the store over the `SqlClient` of the context, migrating first. */
export const make: Effect.Effect<Service, StoreUnavailable, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect: Dialect = sql.onDialectOrElse({
    pg: () => Dialects.pg(sql),
    sqlite: () => Dialects.sqlite(sql),
    orElse: () => {
      throw new Error("ClusterStore.layerSql supports SQLite and PostgreSQL")
    }
  })
  const now = dialect.now

  const isTransient = (error: unknown) => error instanceof SqlError && dialect.isTransient(error)

  /** One atomic operation: a transaction, retried while transient, its `SqlError` as `StoreUnavailable`. */
  const atomic = <A, E>(
    operation: string,
    body: Effect.Effect<A, E | SqlError>
  ): Effect.Effect<A, Exclude<E, SqlError> | StoreUnavailable> =>
    sql.withTransaction(body).pipe(
      Effect.retry({ schedule: transientRetry, while: isTransient }),
      Effect.mapError((error) =>
        error instanceof SqlError
          ? new StoreUnavailable({ operation, reason: describe(error) })
          : error as Exclude<E, SqlError>
      )
    )

  /** One statement, autocommitted. */
  const single = <A>(operation: string, body: Effect.Effect<A, SqlError>) =>
    body.pipe(
      Effect.retry({ schedule: transientRetry, while: isTransient }),
      Effect.mapError((error) => new StoreUnavailable({ operation, reason: describe(error) }))
    )

  yield* single("open", dialect.setup)
  yield* atomic(
    "migrate",
    Effect.gen(function*() {
      yield* dialect.lockMigrations
      yield* sql`CREATE TABLE IF NOT EXISTS ea_schema (id integer PRIMARY KEY, version integer NOT NULL)`
      const rows = yield* sql<{ readonly version: number }>`INSERT INTO ea_schema (id, version) VALUES (1, 0)
        ON CONFLICT (id) DO UPDATE SET version = ea_schema.version RETURNING version`
      const current = Number(rows[0]?.version ?? 0)
      for (let version = current + 1; version <= dialect.migrations.length; version++) {
        for (const statement of dialect.migrations[version - 1] ?? []) yield* sql.unsafe(statement)
        yield* sql`UPDATE ea_schema SET version = ${version} WHERE id = 1`
      }
    })
  )

  /** Bumps the membership version; the first statement of a membership change (it locks `ea_meta`). */
  const bumpVersion = Effect.map(
    sql<{ readonly version: number | string }>`UPDATE ea_meta SET version = version + 1 WHERE id = 1 RETURNING version`,
    (rows) => Number(rows[0]?.version)
  )

  /** Applies a status change to a live incarnation; rolls back when nothing matched. */
  const changeStatus = (
    operation: string,
    node: Incarnation,
    status: NodeStatus,
    condition: Fragment
  ) =>
    atomic(
      operation,
      Effect.gen(function*() {
        const version = yield* bumpVersion
        const rows = yield* sql`UPDATE ea_nodes SET status = ${status}, version = ${version}, updated_at = ${now}
          WHERE node_id = ${node.nodeId} AND epoch = ${node.epoch} AND status IN ('up', 'leaving') AND ${condition}
          RETURNING epoch`
        if (rows.length === 0) return yield* new NoChange()
        return true
      })
    ).pipe(Effect.catchTag("NoChange", () => Effect.succeed(false)))

  /**
   * The upsert of a claim batch: a free name, or one whose owner is `dead`
   * or `left`, becomes `owner`'s under a new fence; `guard` must hold too
   * (the claimant is `up`). Answers the names it claimed, with their fences.
   */
  const upsert = (owner: Incarnation, requests: ReadonlyArray<ClaimRequest>, base: number, guard: Fragment) => {
    const rows: Array<ClaimRow> = requests.map((request) => ({
      name: request.name,
      kind: request.kind,
      relocate: request.relocate ?? true,
      role: request.role ?? null,
      args: hex(request.args)
    }))
    return sql<{ readonly name: string; readonly fence: number | string }>`
      INSERT INTO ea_actors AS a (name, kind, node_id, node_epoch, fence, relocate, role, args, updated_at)
      SELECT r.name, r.kind, ${owner.nodeId}, ${owner.epoch}, ${dialect.fence(base, sql.literal("r.i"))},
        r.relocate, r.role, ${dialect.unhex(sql.literal("r.args"))}, ${now}
      FROM ${dialect.claimRows(JSON.stringify(rows))} AS r WHERE ${guard} ORDER BY r.name
      ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, node_id = excluded.node_id,
        node_epoch = excluded.node_epoch, fence = excluded.fence, relocate = excluded.relocate,
        role = excluded.role, args = excluded.args, updated_at = excluded.updated_at
      WHERE NOT EXISTS (SELECT 1 FROM ea_nodes n
        WHERE n.node_id = a.node_id AND n.epoch = a.node_epoch AND n.status IN ('up', 'leaving'))
      RETURNING name, fence`
  }

  /** The claimant's row, locked against a concurrent `markDead` until the claim commits. */
  const claimant = (owner: Incarnation) =>
    sql`SELECT status FROM ea_nodes WHERE node_id = ${owner.nodeId} AND epoch = ${owner.epoch} ${dialect.forShare}`

  /**
   * The claim's statements: the claimant's status and the names claimed.
   * PostgreSQL: one statement, one round trip (the claimant's row locked in
   * a CTE that the upsert's guard reads first). SQLite: a transaction whose
   * first statement takes the write lock and reserves the fences.
   */
  const claimStatements = (owner: Incarnation, requests: ReadonlyArray<ClaimRequest>) =>
    dialect.name === "pg"
      ? single(
        "claim",
        Effect.map(
          sql<{ readonly status: NodeStatus; readonly name: string | null; readonly fence: number | string | null }>`
            WITH me AS MATERIALIZED (${claimant(owner)}),
              claimed AS (${upsert(owner, requests, 0, sql`(SELECT status FROM me) = 'up'`)})
            SELECT me.status, claimed.name, claimed.fence FROM me LEFT JOIN claimed ON true`,
          (rows) => ({
            status: rows[0]?.status,
            claimed: rows.flatMap((row) => row.name === null ? [] : [{ name: row.name, fence: row.fence! }])
          })
        )
      )
      : atomic(
        "claim",
        Effect.gen(function*() {
          const base = yield* dialect.reserve(requests.length)
          const me = yield* claimant(owner)
          const status = me[0]?.status as NodeStatus | undefined
          if (status !== "up") return { status, claimed: [] }
          return { status, claimed: yield* upsert(owner, requests, base, sql.literal("true")) }
        })
      )

  /**
   * One claim batch: the claim's statements, then who holds the names it did
   * not get. A name whose row vanished in between (released at that
   * instant) is free: it is claimed again, at most three times over.
   */
  const claimBatch = (
    owner: Incarnation,
    requests: ReadonlyArray<ClaimRequest>,
    attempt = 0
  ): Effect.Effect<Map<string, ClaimResult>, StoreUnavailable> =>
    Effect.gen(function*() {
      const { claimed, status } = yield* claimStatements(owner, requests)
      const results = new Map<string, ClaimResult>()
      if (status !== "up") {
        for (const request of requests) results.set(request.name, { _tag: "Refused", name: request.name })
        return results
      }
      for (const row of claimed) results.set(row.name, { _tag: "Claimed", name: row.name, fence: Number(row.fence) })
      if (results.size === requests.length) return results
      // The others are held by a live owner.
      const missing = requests.filter((request) => !results.has(request.name))
      const owners = yield* single(
        "claim",
        sql<{ readonly name: string; readonly node_id: string; readonly node_epoch: number | string }>`
          SELECT name, node_id, node_epoch FROM ea_actors
          WHERE name IN ${dialect.strings(JSON.stringify(missing.map((request) => request.name)))}`
      )
      for (const row of owners) {
        results.set(row.name, { _tag: "Taken", name: row.name, owner: { nodeId: row.node_id, epoch: Number(row.node_epoch) } })
      }
      const vanished = missing.filter((request) => !results.has(request.name))
      if (vanished.length === 0) return results
      if (attempt >= 3) {
        return yield* Effect.fail(
          new StoreUnavailable({ operation: "claim", reason: "a contested name changed hands during the claim" })
        )
      }
      for (const [name, result] of yield* claimBatch(owner, vanished, attempt + 1)) results.set(name, result)
      return results
    })

  const selectEntries = (where: Fragment) =>
    sql<ActorRow>`SELECT a.name, a.kind, a.node_id, a.node_epoch, a.fence, a.relocate, a.role, a.args,
        (n.status IN ('up', 'leaving')) AS live
      FROM ea_actors a LEFT JOIN ea_nodes n ON n.node_id = a.node_id AND n.epoch = a.node_epoch
      WHERE ${where}`

  const store: Service = {
    join: (request) =>
      atomic(
        "join",
        Effect.gen(function*() {
          const base = yield* dialect.reserve(1)
          const version = yield* bumpVersion
          const rows = yield* sql<{ readonly epoch: number | string; readonly expires_at: number | string }>`
            INSERT INTO ea_nodes (node_id, epoch, address, kinds, roles, host_id, pid, pid_start, status,
              joined_version, version, expires_at, updated_at)
            VALUES (${request.nodeId}, ${dialect.fence(base, sql.literal("0"))}, ${request.address},
              ${JSON.stringify(request.kinds)}, ${JSON.stringify(request.roles)}, ${request.process?.hostId ?? null},
              ${request.process?.pid ?? null}, ${request.process?.pidStart ?? null}, 'up', ${version}, ${version},
              ${now} + ${request.ttlMillis}, ${now})
            RETURNING epoch, expires_at`
          const row = rows[0]
          if (row === undefined) return yield* Effect.die(new Error("join: INSERT returned no row"))
          return { nodeId: request.nodeId, epoch: Number(row.epoch), expiresAt: Number(row.expires_at), version }
        })
      ),
    renew: (node, ttlMillis) =>
      single(
        "renew",
        Effect.map(
          sql`UPDATE ea_nodes SET expires_at = ${now} + ${ttlMillis}
            WHERE node_id = ${node.nodeId} AND epoch = ${node.epoch} AND status IN ('up', 'leaving')
            RETURNING epoch`,
          (rows) => rows.length > 0
        )
      ),
    markDead: (node, options) =>
      changeStatus("markDead", node, "dead", options?.proof === true ? sql.literal("true") : sql`expires_at < ${now}`),
    setStatus: (node, status) => changeStatus("setStatus", node, status, sql.literal("true")),
    view: (since) =>
      single(
        "view",
        Effect.gen(function*() {
          const meta = yield* sql<{ readonly version: number | string; readonly now: number | string }>`
            SELECT version, ${now} AS now FROM ea_meta WHERE id = 1`
          const version = Number(meta[0]?.version ?? 0)
          if (since !== undefined && since === version) return Option.none<View>()
          const rows = yield* sql<NodeRow>`SELECT node_id, epoch, address, kinds, roles, host_id, pid, pid_start,
              status, joined_version, version, expires_at
            FROM ea_nodes ORDER BY joined_version`
          return Option.some<View>({ version, now: Number(meta[0]?.now ?? 0), members: rows.map(toMember) })
        })
      ),
    claim: (owner, requests) =>
      Effect.gen(function*() {
        // One answer per distinct name; a batch never holds the same row twice (PostgreSQL refuses that).
        const distinct = [...new Map(requests.map((request) => [request.name, request])).values()]
        const results = new Map<string, ClaimResult>()
        for (let i = 0; i < distinct.length; i += batchSize) {
          const answers = yield* claimBatch(owner, distinct.slice(i, i + batchSize))
          for (const [name, result] of answers) results.set(name, result)
        }
        return requests.map((request) => results.get(request.name)!) // set for every distinct name above
      }),
    adopt: (to, from, names) =>
      atomic(
        "adopt",
        Effect.gen(function*() {
          const distinct = [...new Set(names)]
          const json = JSON.stringify(distinct)
          const base = yield* dialect.reserve(distinct.length)
          const rows = yield* sql<ActorRow>`UPDATE ea_actors
            SET node_id = ${to.nodeId}, node_epoch = ${to.epoch}, updated_at = ${now},
              fence = ${dialect.fence(base, dialect.positionOf(json, sql.literal("ea_actors.name")))}
            WHERE name IN ${dialect.strings(json)} AND node_id = ${from.nodeId} AND node_epoch = ${from.epoch}
              AND EXISTS (SELECT 1 FROM ea_nodes WHERE node_id = ${from.nodeId} AND epoch = ${from.epoch}
                AND status IN ('dead', 'left'))
              AND EXISTS (SELECT 1 FROM ea_nodes WHERE node_id = ${to.nodeId} AND epoch = ${to.epoch}
                AND status = 'up')
            RETURNING name, kind, node_id, node_epoch, fence, relocate, role, args`
          return rows.map((row) => toEntry(row, true))
        })
      ),
    lookup: (names) =>
      single(
        "lookup",
        Effect.map(
          selectEntries(sql`a.name IN ${dialect.strings(JSON.stringify(names))}`),
          (rows) => new Map(rows.map((row) => [row.name, toEntry(row, Boolean(row.live))]))
        )
      ),
    owned: (node) =>
      single(
        "owned",
        Effect.map(
          selectEntries(sql`a.node_id = ${node.nodeId} AND a.node_epoch = ${node.epoch}`),
          (rows) => rows.map((row) => toEntry(row, Boolean(row.live)))
        )
      ),
    release: (name, fence) =>
      single(
        "release",
        Effect.map(
          sql`DELETE FROM ea_actors WHERE name = ${name} AND fence = ${fence} RETURNING name`,
          (rows) => rows.length > 0
        )
      ),
    claimTick: (reference, tickAt) =>
      single(
        "claimTick",
        Effect.map(
          sql`INSERT INTO ea_ticks (ref, tick_at, claimed_at) VALUES (${reference}, ${tickAt}, ${now})
            ON CONFLICT (ref, tick_at) DO NOTHING RETURNING ref`,
          (rows) => rows.length > 0
        )
      ),
    prune: (olderThanMillis) =>
      atomic(
        "prune",
        Effect.gen(function*() {
          yield* dialect.reserve(0)
          const nodes = yield* sql`DELETE FROM ea_nodes AS n
            WHERE status IN ('dead', 'left') AND updated_at < ${now} - ${olderThanMillis}
              AND NOT EXISTS (SELECT 1 FROM ea_actors a WHERE a.node_id = n.node_id AND a.node_epoch = n.epoch)
            RETURNING node_id`
          const ticks = yield* sql`DELETE FROM ea_ticks WHERE claimed_at < ${now} - ${olderThanMillis}
            RETURNING ref`
          return nodes.length + ticks.length
        })
      ),
    now: single("now", Effect.map(sql<{ readonly now: number | string }>`SELECT ${now} AS now`, (rows) => Number(rows[0]?.now)))
  }
  return store
})

const describe = (error: SqlError): string => {
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ""
  return `${error.message}${cause}`
}
