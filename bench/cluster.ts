/**
 * Cluster benchmarks (issue 10):
 *
 *   node --import tsx bench/cluster.ts [--json] [--smoke]
 *
 * - `redeploy`: three node processes on one SQLite store (the kill -9 test's
 *   nodes, `test/Cluster/fixtures/oracleNode.ts`, fenced writes included),
 *   writers spread over them and asked by name in a loop; the node with the
 *   most is SIGKILLed; ms from the kill to the last of its writers answering
 *   from a survivor (same-host proof on, ttl 3 s).
 * - `send-by-name`: two nodes in this process over remoting on 127.0.0.1
 *   and one memory store; tells by name to an actor of the other node,
 *   beside tells to its PID in the same run (`ratioToPid`); and the store
 *   calls counted by a `faulty` wrapper: per spawn, and per message (besides
 *   the heartbeats, `renew` and `view`, counted apart per second).
 *
 * Rows: JSON lines on stdout with `--json`, a table on stderr.
 */
import { Effect, Layer, Scope, Exit } from "effect"
import { join } from "node:path"
import { ActorSystem, Cluster, ClusterStore, Discovery, Remoting } from "../src/index.js"
import { killOneMidConversation } from "../test/Cluster/killScenario.js"
import { Counter, GetCount, Increment } from "./cluster/counter.js"
import { tempDir } from "./stores.js"

const json = process.argv.includes("--json")
const smoke = process.argv.includes("--smoke")

const emit = (row: Record<string, unknown>) => {
  console.error(`  ${Object.entries(row).map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 100) / 100 : v}`).join(" ")}`)
  if (json) console.log(JSON.stringify(row))
}

const redeploy = Effect.gen(function*() {
  const dir = yield* tempDir("ea-bench-redeploy-")
  const actors = smoke ? 60 : 1000
  const result = yield* killOneMidConversation(
    { storeKind: "sqlite", store: join(dir, "cluster.db"), oracle: join(dir, "oracle.db") },
    actors
  )
  emit({
    scenario: "redeploy",
    impl: "ours",
    value: result.redeployMs,
    unit: "ms",
    actors: result.lost.length,
    of: actors,
    store: "sqlite",
    proof: true,
    ttlMs: 3000,
    oracleRefused: result.oracle.rejected.length
  })
}).pipe(Effect.scoped)

/** A node of this process over `store`, its store calls counted. */
const node = (store: ClusterStore.Service, id: string) =>
  Effect.gen(function*() {
    const [counted, control] = yield* ClusterStore.faulty(store)
    const scope = yield* Effect.acquireRelease(Scope.make(), (scope) => Scope.close(scope, Exit.void))
    const context = yield* Layer.buildWithScope(
      Cluster.layer({ nodeId: id, kinds: [Counter], sameHostProof: false }).pipe(
        Layer.provideMerge(Remoting.layer({ kinds: [Counter] })),
        Layer.provideMerge(ActorSystem.layer({ name: id })),
        Layer.provide(Layer.succeed(ClusterStore.ClusterStore, counted)),
        Layer.provide(Discovery.layerStatic([]))
      ),
      scope
    )
    return { cluster: yield* Effect.provide(Cluster.Cluster, context), control }
  })

const total = (calls: Readonly<Record<string, number>>, except: ReadonlyArray<string> = []) =>
  Object.entries(calls).reduce((sum, [op, n]) => except.includes(op) ? sum : sum + n, 0)

const sendByName = Effect.gen(function*() {
  const store = yield* ClusterStore.makeMemory
  const a = yield* node(store, "a")
  const b = yield* node(store, "b")
  const spawns = smoke ? 200 : 2000
  const before = yield* a.control.calls
  yield* Effect.forEach(Array.from({ length: spawns }, (_, i) => `c-${i}`), (name) => a.cluster.spawn(Counter, name), {
    concurrency: 64,
    discard: true
  })
  const afterSpawns = yield* a.control.calls
  const perSpawn = (total(afterSpawns, ["renew", "view"]) - total(before, ["renew", "view"])) / spawns

  const messages = smoke ? 20_000 : 200_000
  const pid = yield* b.cluster.actorOf("c-0", Counter)
  const time = (tell: Effect.Effect<void, unknown>) =>
    Effect.gen(function*() {
      const start = performance.now()
      for (let i = 0; i < messages; i++) yield* tell
      yield* pid.ask(new GetCount())
      return messages / ((performance.now() - start) / 1000)
    })
  const message = new Increment({ by: 1 })
  yield* time(b.cluster.sendAsync("c-0", message)) // warm-up
  const callsBefore = [yield* a.control.calls, yield* b.control.calls] as const
  const startedAt = performance.now()
  const byName = yield* time(b.cluster.sendAsync("c-0", message))
  const seconds = (performance.now() - startedAt) / 1000
  const callsAfter = [yield* a.control.calls, yield* b.control.calls] as const
  const byPid = yield* time(pid.tell(message))
  const perMessage = (total(callsAfter[0], ["renew", "view"]) + total(callsAfter[1], ["renew", "view"]) -
    total(callsBefore[0], ["renew", "view"]) - total(callsBefore[1], ["renew", "view"])) / messages
  const heartbeats = (total(callsAfter[0]) + total(callsAfter[1]) - total(callsBefore[0]) - total(callsBefore[1])) / seconds
  emit({
    scenario: "send-by-name",
    impl: "ours",
    value: byName,
    unit: "msg/s",
    ratioToPid: byName / byPid,
    target: ">= 0.9",
    pass: byName / byPid >= 0.9
  })
  emit({ scenario: "send-by-pid", impl: "ours", value: byPid, unit: "msg/s" })
  emit({ scenario: "store-calls", impl: "ours", value: perSpawn, unit: "calls/spawn", perMessage, heartbeatCallsPerSecond: heartbeats, nodes: 2 })
}).pipe(Effect.scoped)

Effect.runPromise(Effect.zipRight(sendByName, redeploy)).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
