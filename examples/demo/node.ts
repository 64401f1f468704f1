/**
 * One node of the demo: an actor system with remoting on 127.0.0.1 (a free
 * port), in the cluster whose store is the SQLite file `STORE`, running
 * `Account`s and the `Ticker` singleton, with the ledger in the SQLite file
 * `LEDGER`. Prints `READY` once it joined, then serves until SIGTERM makes it
 * leave gracefully (or SIGKILL does not).
 */
import { NodeRuntime } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { writeSync } from "node:fs"
import { ActorSystem, Cluster, ClusterStore, Dashboard, Discovery, Remoting, Scheduler, Singleton } from "../../src/index.js"
import { Account, ledgerSchema, Tick, Ticker } from "./protocol.js"

const nodeId = process.env["NODE_ID"] ?? "node"

// The reporter answers the driver's dashboard with this node's actors, schedules and throughput.
const Node = Layer.mergeAll(Singleton.layer(), Scheduler.layer.pipe(Layer.provide(Singleton.layerSchedules))).pipe(
  Layer.provideMerge(Dashboard.layerReporter()),
  Layer.provideMerge(Cluster.layer({ nodeId, kinds: [Account, Ticker], ttl: "3 seconds", heartbeat: "500 millis" })),
  Layer.provideMerge(Remoting.layer({ host: "127.0.0.1", port: 0 })),
  Layer.provideMerge(ActorSystem.layer({ name: nodeId })),
  Layer.provide(ClusterStore.layerSqlite({ filename: process.env["STORE"] ?? "cluster.db" })),
  Layer.provide(Discovery.layerStatic([])),
  Layer.provideMerge(SqliteClient.layer({ filename: process.env["LEDGER"] ?? "ledger.db" }))
)

const main = Effect.gen(function*() {
  yield* ledgerSchema
  // Declared on every node: one instance runs, on the oldest node; one node fires the schedule.
  const ticker = yield* Singleton.singleton(Ticker, "ticker")
  yield* Scheduler.schedule(new Tick(), ticker, "3 seconds", { reference: "tick" })
  writeSync(1, "READY\n")
  return yield* Effect.never
})

NodeRuntime.runMain(main.pipe(Effect.scoped, Effect.provide(Node), Logger.withMinimumLogLevel(LogLevel.Error)))
