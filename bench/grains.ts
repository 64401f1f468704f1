/**
 * Grain benchmark (issue 11): how fast one node activates grains (virtual
 * actors) on their first message.
 *
 *   node --import tsx bench/grains.ts [--json] [--smoke] [--store sqlite|pg]
 *
 * - `grain-activation`, store sqlite (a file in a temporary directory) and
 *   pg (127.0.0.1:5432 `test`, skipped when unreachable): one cluster node
 *   (ActorSystem + Remoting + Cluster) asks `total` grains of new ids,
 *   256 at a time; each first ask claims the grain's row (batched with the
 *   others in flight), spawns it and answers. `value` is activations per
 *   second; `firstCallP50Ms` is the median latency of a first ask made
 *   alone (one at a time, 200 ids). Targets: ≥ 5,000/s; first call p50
 *   ≤ 1 ms on SQLite, ≤ 6 ms on PostgreSQL.
 *
 * Rows: `{ scenario: "grain-activation", impl: "ours", value, unit:
 * "activations/s", store, firstCallP50Ms, target, pass }` (JSON lines on
 * stdout with `--json`, the table on stderr).
 */
import { Effect, Layer, Schema } from "effect"
import * as os from "node:os"
import { join } from "node:path"
import { Actor, ActorSystem, Remoting } from "../src/index.js"
import * as Cluster from "../src/Cluster/Cluster.js"
import * as ClusterStore from "../src/Cluster/ClusterStore.js"
import * as Discovery from "../src/Cluster/Discovery.js"
import { pgSchema, tempDir } from "./stores.js"

const json = process.argv.includes("--json")
const smoke = process.argv.includes("--smoke")
const rounds = smoke ? 1 : 3
const storeAt = process.argv.indexOf("--store")
/** The one store to measure (`--store sqlite|pg`), else both. */
const onlyStore = storeAt < 0 ? undefined : process.argv[storeAt + 1]

class Hello extends Schema.TaggedRequest<Hello>()("Hello", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

const Greeter = Actor.make("Greeter", {
  protocol: [Hello],
  initialState: () => 0,
  receive: { Hello: (_, ctx) => Effect.as(ctx.update((n) => n + 1), 1) }
})

interface Row {
  readonly scenario: "grain-activation"
  readonly impl: "ours"
  readonly value: number
  readonly unit: "activations/s"
  readonly store: "sqlite" | "pg"
  readonly firstCallP50Ms: number
  readonly target: string
  readonly pass: boolean
}

const emit = (row: Row) => {
  console.error(
    `  grain-activation ${row.store.padEnd(7)} ${Math.round(row.value).toLocaleString("en-US").padStart(9)} activations/s` +
      `  first call p50 ${row.firstCallP50Ms.toFixed(3)} ms  target ${row.target} ${row.pass ? "PASS" : "MISS"}`
  )
  if (json) console.log(JSON.stringify(row))
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

let prefix = 0
const measure = (storeName: "sqlite" | "pg", p50Target: number) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.Cluster
    const ask = (id: string) => Effect.flatMap(cluster.grain(Greeter, id), (ref) => ref.ask(new Hello()))
    const burst = (total: number) =>
      Effect.gen(function*() {
        const tag = `b${prefix++}-`
        const start = performance.now()
        yield* Effect.forEach(Array.from({ length: total }, (_, i) => `${tag}${i}`), ask, {
          concurrency: 256,
          discard: true
        })
        return total / ((performance.now() - start) / 1000)
      })
    const total = smoke ? 500 : 20_000
    yield* burst(Math.ceil(total / 10)) // warm-up
    const rates: Array<number> = []
    for (let r = 0; r < rounds; r++) rates.push(yield* burst(total))
    const latencies: Array<number> = []
    const tag = `s${prefix++}-`
    for (let i = 0; i < (smoke ? 50 : 200); i++) {
      const start = performance.now()
      yield* ask(`${tag}${i}`)
      latencies.push(performance.now() - start)
    }
    const value = median(rates)
    const p50 = median(latencies)
    emit({
      scenario: "grain-activation",
      impl: "ours",
      value,
      unit: "activations/s",
      store: storeName,
      firstCallP50Ms: p50,
      target: `>= 5,000/s, p50 <= ${p50Target} ms`,
      pass: value >= 5000 && p50 <= p50Target
    })
  })

const node = (store: Layer.Layer<ClusterStore.ClusterStore, unknown>) =>
  Cluster.layer({ nodeId: "bench", kinds: [Greeter], grains: { maxResident: 1_000_000 } }).pipe(
    Layer.provideMerge(Remoting.layer({ kinds: [Greeter] })),
    Layer.provideMerge(ActorSystem.layer({ name: "bench" })),
    Layer.provide(store),
    Layer.provide(Discovery.layerStatic([]))
  )

const sqliteBench = Effect.gen(function*() {
  const dir = yield* tempDir("ea-bench-grains-")
  yield* measure("sqlite", 1).pipe(Effect.provide(node(ClusterStore.layerSqlite({ filename: join(dir, "cluster.db") }))))
}).pipe(Effect.scoped)

const pgBench = Effect.gen(function*() {
  const store = ClusterStore.layerPg({ url: yield* pgSchema("ea_bench_grains") })
  yield* measure("pg", 6).pipe(Effect.provide(node(store)))
}).pipe(Effect.scoped)

const load = os.loadavg().map((l) => l.toFixed(1)).join(" / ")
console.error(`grains (load average ${load}, ${rounds} round(s), medians)`)
Effect.runPromise(
  Effect.zipRight(
    onlyStore === "pg" ? Effect.void : sqliteBench,
    onlyStore === "sqlite" ? Effect.void : pgBench.pipe(
      Effect.catchAll((error) => Effect.sync(() => console.error(`  grain-activation pg skipped: ${String(error)}`)))
    )
  )
).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
