/**
 * A cluster node for the dashboard tests: an actor system with remoting on
 * 127.0.0.1, `Cluster.layer` over a SQLite file (`STORE`), the dashboard on a
 * free port, and `ACTORS` counters named `<NODE_ID>-w<i>` that it keeps busy
 * (a tell to each every 100 ms, so the sparklines move). Prints
 * `READY <dashboard url>` and runs until a signal stops it.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schedule } from "effect"
import { writeSync } from "node:fs"
import { ActorSystem, Cluster, ClusterStore, Dashboard, Discovery, Remoting } from "../../src/index.js"
import { Counter } from "../Cluster/support.js"
import { Increment } from "../helpers.js"

const nodeId = process.env["NODE_ID"] ?? "node"
const actors = Number(process.env["ACTORS"] ?? 5)
const token = process.env["TOKEN"]

const Node = Dashboard.layer({}).pipe(
  Layer.provideMerge(Cluster.layer({
    nodeId,
    kinds: [Counter],
    ttl: "3 seconds",
    heartbeat: "500 millis",
    margin: "1 second",
    reapInterval: "250 millis",
    redeployInterval: "250 millis"
  })),
  Layer.provideMerge(Remoting.layer({ kinds: [Counter], ...(token === undefined ? {} : { token }) })),
  Layer.provideMerge(ActorSystem.layer({ name: nodeId })),
  Layer.provide(ClusterStore.layerSqlite({ filename: process.env["STORE"] ?? "dashboard.db" })),
  Layer.provide(Discovery.layerStatic([]))
)

const main = Effect.gen(function*() {
  const cluster = yield* Cluster.Cluster
  const dashboard = yield* Dashboard.Dashboard
  const names = Array.from({ length: actors }, (_, i) => `${nodeId}-w${i}`)
  yield* Effect.forEach(names, (name) => cluster.spawn(Counter, name), { discard: true })
  yield* Effect.forkScoped(
    Effect.repeat(
      Effect.forEach(names, (name) => Effect.ignore(cluster.sendAsync(name, new Increment({ by: 1 }))), { discard: true }),
      Schedule.spaced("100 millis")
    )
  )
  writeSync(1, `READY ${dashboard.url}\n`)
  return yield* Effect.never
})

NodeRuntime.runMain(main.pipe(Effect.scoped, Effect.provide(Node)))
