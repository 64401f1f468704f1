/**
 * The cluster's storage port: node leases (membership), the directory of
 * names with their fences, and cluster-unique ticks. Every node of a cluster
 * talks to the same store; it is the only place where nodes agree on
 * anything, and its clock is the only clock compared across nodes.
 *
 * Three backends share one contract (and one conformance suite):
 * `layerMemory` (one process; leases on Effect's `Clock`, so `TestClock`
 * drives them), `layerSqlite` (a file shared by the processes of one host)
 * and `layerPg` (PostgreSQL, for many machines). Both SQL backends run the
 * same module over `@effect/sql` (`layerSql`). `faulty` wraps any of them
 * with injected latency, failures and hangs for tests.
 *
 * The safety argument (see `docs/cluster.md`):
 * - a node incarnation (`nodeId` + `epoch`) holds one lease; it becomes
 *   `dead` only through `markDead`, which needs an expired lease (on the
 *   store's clock) or a proof that the process is gone, and never comes back;
 * - a directory row is live iff its owner incarnation is `up` or `leaving`,
 *   and `claim` takes a row over only when its owner is `dead` or `left`;
 * - every change of owner draws a new fence from one global counter.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Duration, Effect, Layer, type Option, Redacted } from "effect"
import { StoreUnavailable } from "./ClusterError.js"
import * as faultyStore from "./internal/faultyStore.js"
import * as memoryStore from "./internal/memoryStore.js"
import * as PgSocket from "./internal/pgSocket.js"
import * as sqlStore from "./internal/sqlStore.js"

/**
 * The only error of the store (see `ClusterError.StoreUnavailable`).
 *
 * @since 0.1.0
 * @category errors
 */
export { StoreUnavailable } from "./ClusterError.js"

/**
 * The life of a node incarnation. `up` and `leaving` are live; `left`
 * (graceful) and `dead` (declared by `markDead`) are final.
 *
 * @since 0.1.0
 * @category models
 */
export type NodeStatus = "up" | "leaving" | "left" | "dead"

/**
 * One incarnation of a node: its stable id and the epoch drawn when it joined.
 * A restarted process joins again under a new epoch.
 *
 * @since 0.1.0
 * @category models
 */
export interface Incarnation {
  readonly nodeId: string
  readonly epoch: number
}

/**
 * Where a node's process runs, so that a node on the same host can prove it
 * gone (`pid` no longer exists, or belongs to a process started at another
 * time) and declare it dead at once. `hostId` is the boot id plus the pid
 * namespace.
 *
 * @since 0.1.0
 * @category models
 */
export interface HostProcess {
  readonly hostId: string
  readonly pid: number
  readonly pidStart: number
}

/**
 * What a node writes when it joins.
 *
 * @since 0.1.0
 * @category models
 */
export interface JoinRequest {
  readonly nodeId: string
  /** Where remoting reaches it (`host:port`), or "" for a node without remoting. */
  readonly address: string
  /** The actor kinds it can run. */
  readonly kinds: ReadonlyArray<string>
  readonly roles: ReadonlyArray<string>
  readonly process?: HostProcess | undefined
  /** The lease length, counted on the store's clock. */
  readonly ttlMillis: number
}

/**
 * A fresh lease: the incarnation and its expiry on the store's clock.
 *
 * @since 0.1.0
 * @category models
 */
export interface Lease extends Incarnation {
  readonly expiresAt: number
  /** The membership version of the join. */
  readonly version: number
}

/**
 * A row of the membership table.
 *
 * @since 0.1.0
 * @category models
 */
export interface Member extends Incarnation {
  readonly address: string
  readonly kinds: ReadonlyArray<string>
  readonly roles: ReadonlyArray<string>
  readonly status: NodeStatus
  readonly process: HostProcess | undefined
  /** The membership version of its join: the order of seniority. */
  readonly joinedVersion: number
  /** The membership version of its last status change. */
  readonly version: number
  /** Lease expiry on the store's clock. */
  readonly expiresAt: number
}

/**
 * The membership table at one version: every incarnation the store still
 * holds (dead and left ones until `prune`), ordered by `joinedVersion`, and
 * the store's clock when it was read.
 *
 * @since 0.1.0
 * @category models
 */
export interface View {
  readonly version: number
  readonly now: number
  readonly members: ReadonlyArray<Member>
}

/**
 * A name to claim, with what a survivor needs to run it again.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClaimRequest {
  readonly name: string
  readonly kind: string
  /** Whether survivors adopt it when its owner dies (default true). */
  readonly relocate?: boolean | undefined
  readonly role?: string | undefined
  /** Serialized spawn arguments and options. */
  readonly args?: Uint8Array | undefined
}

/**
 * The name is ours from now on, under this fence.
 *
 * @since 0.1.0
 * @category models
 */
export interface Claimed {
  readonly _tag: "Claimed"
  readonly name: string
  readonly fence: number
}

/**
 * A live incarnation (possibly the claimant itself) holds the name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Taken {
  readonly _tag: "Taken"
  readonly name: string
  readonly owner: Incarnation
}

/**
 * The claimant is not `up` (suspended too long and declared dead, leaving or
 * left): it may not take names, and should rejoin.
 *
 * @since 0.1.0
 * @category models
 */
export interface Refused {
  readonly _tag: "Refused"
  readonly name: string
}

/**
 * The answer for one name of a `claim` batch.
 *
 * @since 0.1.0
 * @category models
 */
export type ClaimResult = Claimed | Taken | Refused

/**
 * A directory row.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly name: string
  readonly kind: string
  readonly owner: Incarnation
  readonly fence: number
  readonly relocate: boolean
  readonly role: string | undefined
  readonly args: Uint8Array | undefined
  /** Whether the owner incarnation is `up` or `leaving` (at the read). */
  readonly live: boolean
}

/**
 * The operations of a store. Batched operations answer in the order of
 * their input. Every operation is atomic.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Draws a new epoch for `nodeId` and writes its lease (`up`). */
  readonly join: (request: JoinRequest) => Effect.Effect<Lease, StoreUnavailable>
  /**
   * Extends the lease to store-now + `ttlMillis`. An expired lease nobody
   * marked dead is revived. `false` when the incarnation is `dead` or `left`
   * (0 rows): it must rejoin.
   */
  readonly renew: (node: Incarnation, ttlMillis: number) => Effect.Effect<boolean, StoreUnavailable>
  /**
   * Declares a live incarnation dead, once and for all. Refused (`false`)
   * while its lease is valid on the store's clock, unless `proof` says its
   * process is gone.
   */
  readonly markDead: (
    node: Incarnation,
    options?: { readonly proof?: boolean }
  ) => Effect.Effect<boolean, StoreUnavailable>
  /** Moves a live incarnation to `up`, `leaving` or `left`; `false` if it is not live. */
  readonly setStatus: (
    node: Incarnation,
    status: "up" | "leaving" | "left"
  ) => Effect.Effect<boolean, StoreUnavailable>
  /** The membership table; `None` when its version is still `since`. */
  readonly view: (since?: number) => Effect.Effect<Option.Option<View>, StoreUnavailable>
  /**
   * Claims names for a live (`up`) incarnation: free names and names whose
   * owner is `dead` or `left` become its own under a new fence.
   */
  readonly claim: (
    owner: Incarnation,
    requests: ReadonlyArray<ClaimRequest>
  ) => Effect.Effect<ReadonlyArray<ClaimResult>, StoreUnavailable>
  /**
   * Takes over names still held by `from` (which must be `dead` or `left`)
   * for the live incarnation `to`, each under a new fence. Exactly one of
   * racing adopters gets each row; the others get nothing for it.
   */
  readonly adopt: (
    to: Incarnation,
    from: Incarnation,
    names: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Entry>, StoreUnavailable>
  /** The rows of these names (absent names are not in the map). */
  readonly lookup: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, Entry>, StoreUnavailable>
  /** Every row held by an incarnation. */
  readonly owned: (node: Incarnation) => Effect.Effect<ReadonlyArray<Entry>, StoreUnavailable>
  /** Deletes the row if it still carries this fence. */
  readonly release: (name: string, fence: number) => Effect.Effect<boolean, StoreUnavailable>
  /** `true` for the first caller of one tick of a schedule reference, cluster-wide. */
  readonly claimTick: (reference: string, tickAt: number) => Effect.Effect<boolean, StoreUnavailable>
  /**
   * Deletes `dead` and `left` incarnations that hold no rows and changed more
   * than `olderThanMillis` ago, and ticks older than that. Returns how many
   * rows went.
   */
  readonly prune: (olderThanMillis: number) => Effect.Effect<number, StoreUnavailable>
  /** The store's clock (ms since the epoch). */
  readonly now: Effect.Effect<number, StoreUnavailable>
}

/**
 * The store of the context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ClusterStore } from "effect-actors/Cluster"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* ClusterStore.ClusterStore
 *   const lease = yield* store.join({ nodeId: "a", address: "", kinds: [], roles: [], ttlMillis: 5000 })
 *   return yield* store.claim(lease, [{ name: "counter", kind: "Counter" }])
 * }).pipe(Effect.provide(ClusterStore.layerMemory))
 * ```
 * @since 0.1.0
 * @category tags
 */
export class ClusterStore extends Context.Tag("effect-actors/ClusterStore")<ClusterStore, Service>() {}

/**
 * Builds an in-memory store: one process only, leases on Effect's `Clock`
 * (captured when it is built, so `TestClock` drives expiry). For tests and
 * single-process clusters of several systems.
 *
 * @example
 * ```ts
 * const store = yield* ClusterStore.makeMemory
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = memoryStore.make

/**
 * The in-memory store as a layer.
 *
 * @example
 * ```ts
 * Effect.provide(program, ClusterStore.layerMemory)
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<ClusterStore> = Layer.effect(ClusterStore, makeMemory)

/**
 * Builds the store over the `SqlClient` of the context (SQLite or
 * PostgreSQL), migrating its tables first. Times are the database's clock.
 *
 * @example
 * ```ts
 * const store = yield* ClusterStore.makeSql.pipe(Effect.provide(PgClient.layer({ ... })))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeSql: Effect.Effect<Service, StoreUnavailable, SqlClient.SqlClient> = sqlStore.make

/**
 * The SQL store as a layer over the `SqlClient` of the context.
 *
 * @example
 * ```ts
 * ClusterStore.layerSql.pipe(Layer.provide(SqliteClient.layer({ filename: "cluster.db" })))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerSql: Layer.Layer<ClusterStore, StoreUnavailable, SqlClient.SqlClient> = Layer.effect(
  ClusterStore,
  makeSql
)

/**
 * Options of the SQLite store.
 *
 * @since 0.1.0
 * @category models
 */
export interface SqliteOptions {
  /** The database file, shared by the processes of one host. */
  readonly filename: string
}

/**
 * A store in a SQLite file (WAL, busy timeout 20 ms, retried on a
 * `Schedule`): the embedded default, shared by the processes of one host.
 *
 * @example
 * ```ts
 * Effect.provide(program, ClusterStore.layerSqlite({ filename: "/var/lib/app/cluster.db" }))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite = (options: SqliteOptions): Layer.Layer<ClusterStore, StoreUnavailable> =>
  withDriver(
    // Loaded on use: the native driver is needed only by those who pick this store.
    () => import("@effect/sql-sqlite-node/SqliteClient"),
    (SqliteClient) => SqliteClient.layer({ filename: options.filename })
  )

const withDriver = <M, E>(
  load: () => Promise<M>,
  client: (module: M) => Layer.Layer<SqlClient.SqlClient, E>
): Layer.Layer<ClusterStore, StoreUnavailable> =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.tryPromise({
        try: load,
        catch: (cause) => new StoreUnavailable({ operation: "open", reason: `cannot load the driver: ${String(cause)}` })
      }),
      (module) => layerSql.pipe(Layer.provide(client(module)))
    )
  ).pipe(
    Layer.catchAll((error) =>
      Layer.fail(
        error instanceof StoreUnavailable ? error : new StoreUnavailable({ operation: "open", reason: String(error) })
      )
    )
  )

/**
 * Options of the PostgreSQL store: a connection URL, or its parts. To keep
 * the tables in a schema of their own, set its `search_path`
 * (`?options=-c%20search_path%3Dmy_schema` in the URL).
 *
 * @since 0.1.0
 * @category models
 */
export interface PgOptions {
  readonly url?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** Pool size (default 10). */
  readonly maxConnections?: number | undefined
  /**
   * A connection that has not connected, or whose request has had no
   * answer, for this long is dropped (default 10 s): a partition that drops
   * connections silently would otherwise hold their queries, and the
   * pool's slots, until the kernel gives up on them (about 15 minutes), and
   * keep a node from rejoining after the network is back. Keep it above
   * the longest query you expect; the store's own take milliseconds.
   */
  readonly stallTimeout?: Duration.DurationInput | undefined
}

/**
 * A store in PostgreSQL, for nodes on many machines.
 *
 * @example
 * ```ts
 * Effect.provide(program, ClusterStore.layerPg({ url: "postgres://app@db:5432/app" }))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (options: PgOptions): Layer.Layer<ClusterStore, StoreUnavailable> =>
  withDriver(
    () => import("@effect/sql-pg/PgClient"),
    (PgClient) =>
      PgClient.layer({
        url: options.url === undefined ? undefined : Redacted.make(options.url),
        host: options.host,
        port: options.port,
        database: options.database,
        username: options.username,
        password: options.password === undefined ? undefined : Redacted.make(options.password),
        maxConnections: options.maxConnections ?? 10,
        stream: PgSocket.guarded(Duration.toMillis(Duration.decode(options.stallTimeout ?? "10 seconds")))
      })
  )

/**
 * The operations of a store, by name (for `Faults.operations`).
 *
 * @since 0.1.0
 * @category models
 */
export type Operation = keyof Service

/**
 * Faults to inject, on every operation or on `operations` only:
 * - `latency`: each call waits this long first (on the `Clock`);
 * - `fail`: each call fails with `StoreUnavailable` without reaching the store;
 * - `hang`: each call never returns (until interrupted);
 * - `loseReply`: each call reaches the store, then fails as if the reply were lost.
 *
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  readonly latency?: Duration.DurationInput | undefined
  readonly fail?: boolean | undefined
  readonly hang?: boolean | undefined
  readonly loseReply?: boolean | undefined
  readonly operations?: ReadonlyArray<Operation> | undefined
}

/**
 * The switchboard of a `faulty` store.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultControl {
  /** Replaces the current faults (`{}` heals). */
  readonly set: (faults: Faults) => Effect.Effect<void>
  readonly get: Effect.Effect<Faults>
  /** Calls that reached the inner store, per operation. */
  readonly calls: Effect.Effect<Readonly<Record<string, number>>>
}

/**
 * Wraps a store with controllable faults, for tests: give each simulated
 * node its own wrapper over one shared store to cut one node off, or fail
 * them all for a global outage.
 *
 * @example
 * ```ts
 * const shared = yield* ClusterStore.makeMemory
 * const [storeA, faultsA] = yield* ClusterStore.faulty(shared)
 * yield* faultsA.set({ hang: true }) // node A's store calls never return
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const faulty: (store: Service) => Effect.Effect<readonly [Service, FaultControl]> = faultyStore.make
