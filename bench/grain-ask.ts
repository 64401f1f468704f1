/**
 * `grain-ask` (issue 11): asks per second to active grains in one process,
 * beside an `@effect/cluster` entity doing the same in the same run.
 *
 *   node --import tsx bench/grain-ask.ts [--json] [--smoke]
 *
 * Both sides keep `ids` (100) instances active and ask them in turn, one ask
 * at a time, a message built per ask (`Ping{n}`, answered with the count of
 * pings the instance has seen).
 *
 * - `ours`: one cluster node (ActorSystem + Remoting + Cluster, in-memory
 *   store: an ask to an active grain costs no store call whatever the
 *   store), references from `cluster.grain(Counter, id)` taken once, as a
 *   user keeps them, and `ref.ask(make.Ping({ n }))`.
 * - `entity`: `@effect/cluster` 0.60 (a dev dependency of this benchmark
 *   only), `Entity.make("Counter", [Ping])` with the same handler on
 *   `TestRunner.layer` (one runner, in-memory storage), clients made once per
 *   id, `client(id).Ping({ n })`.
 *
 * Rounds alternate between the two after a warm-up of each; medians. Rows:
 * `{ scenario: "grain-ask", impl: "ours", value, unit: "asks/s",
 * ratioToEntity, target: ">= 50x entity", pass }` and the `entity` row.
 */
import { Entity, TestRunner } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Context, Effect, Layer, Ref, Schema } from "effect"
import * as os from "node:os"
import { Actor, ActorSystem, Message, type Pid, Remoting } from "../src/index.js"
import * as Cluster from "../src/Cluster/Cluster.js"
import * as ClusterStore from "../src/Cluster/ClusterStore.js"
import * as Discovery from "../src/Cluster/Discovery.js"

const json = process.argv.includes("--json")
const smoke = process.argv.includes("--smoke")
const rounds = smoke ? 1 : 3
const ids = 100
const oursAsks = smoke ? 2_000 : 200_000
const entityAsks = smoke ? 500 : 10_000

// ------------------------------------------------------------------ ours

class Ping extends Schema.TaggedRequest<Ping>()("Ping", {
  payload: { n: Schema.Number },
  success: Schema.Number,
  failure: Schema.Never
}) {}

const make = Message.constructors([Ping])

const Counter = Actor.make("Counter", {
  protocol: [Ping],
  initialState: () => 0,
  receive: { Ping: (_, ctx) => ctx.modify((n) => [n + 1, n + 1]) }
})

const oursNode = Cluster.layer({ nodeId: "bench", kinds: [Counter] }).pipe(
  Layer.provideMerge(Remoting.layer({ kinds: [Counter] })),
  Layer.provideMerge(ActorSystem.layer({ name: "bench" })),
  Layer.provide(ClusterStore.layerMemory),
  Layer.provide(Discovery.layerStatic([]))
)

/** Asks per second over the active grains: `n` asks, one at a time, in turn. */
const oursRound = (refs: ReadonlyArray<Pid.Pid<Ping>>, n: number) =>
  Effect.gen(function*() {
    const start = performance.now()
    for (let i = 0; i < n; i++) yield* refs[i % refs.length]!.ask(make.Ping({ n: i }))
    return n / ((performance.now() - start) / 1000)
  })

// ---------------------------------------------------------------- entity

const EntityPing = Rpc.make("Ping", { payload: { n: Schema.Number }, success: Schema.Number })
const EntityCounter = Entity.make("Counter", [EntityPing])

const EntityCounterLive = EntityCounter.toLayer(
  Effect.gen(function*() {
    const count = yield* Ref.make(0)
    return { Ping: () => Ref.updateAndGet(count, (n) => n + 1) }
  })
)

const entityNode = EntityCounterLive.pipe(Layer.provideMerge(TestRunner.layer))

type EntityClient = (n: number) => Effect.Effect<number, unknown>

const entityRound = (clients: ReadonlyArray<EntityClient>, n: number) =>
  Effect.gen(function*() {
    const start = performance.now()
    for (let i = 0; i < n; i++) yield* clients[i % clients.length]!(i)
    return n / ((performance.now() - start) / 1000)
  })

// ------------------------------------------------------------------- run

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

const emit = (row: Record<string, unknown> & { readonly impl: string; readonly value: number }) => {
  const extra = row.ratioToEntity === undefined
    ? ""
    : `  ${(row.ratioToEntity as number).toFixed(1)}x entity  target ${String(row.target)} ${row.pass === true ? "PASS" : "MISS"}`
  console.error(`  grain-ask ${row.impl.padEnd(7)} ${Math.round(row.value).toLocaleString("en-US").padStart(9)} asks/s${extra}`)
  if (json) console.log(JSON.stringify(row))
}

const main = Effect.gen(function*() {
  const oursContext = yield* Layer.build(oursNode)
  const entityContext = yield* Layer.build(entityNode)
  const cluster = Context.get(oursContext, Cluster.Cluster)
  const refs = yield* Effect.forEach(Array.from({ length: ids }, (_, i) => `g${i}`), (id) => cluster.grain(Counter, id))
  const makeClient = yield* Effect.provide(EntityCounter.client, entityContext)
  const clients: Array<EntityClient> = Array.from({ length: ids }, (_, i) => {
    const client = makeClient(`e${i}`)
    return (n) => client.Ping({ n })
  })
  // Warm-up: every instance active, both sides' code paths hot.
  yield* oursRound(refs, Math.max(ids, oursAsks / 10))
  yield* entityRound(clients, Math.max(ids, entityAsks / 10))
  const ours: Array<number> = []
  const entity: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    ours.push(yield* oursRound(refs, oursAsks))
    entity.push(yield* entityRound(clients, entityAsks))
    console.error(`  grain-ask round ${round + 1}/${rounds}: ours ${ours[round]!.toFixed(0)}/s, entity ${entity[round]!.toFixed(0)}/s`)
  }
  const value = median(ours)
  const entityValue = median(entity)
  const ratio = value / entityValue
  emit({ scenario: "grain-ask", impl: "ours", value, unit: "asks/s", ratioToEntity: ratio, target: ">= 50x entity", pass: ratio >= 50 })
  emit({ scenario: "grain-ask", impl: "entity", value: entityValue, unit: "asks/s" })
}).pipe(Effect.scoped)

console.error(`grain-ask (load average ${os.loadavg().map((l) => l.toFixed(1)).join(" / ")}, ${rounds} round(s), medians)`)
Effect.runPromise(main).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
