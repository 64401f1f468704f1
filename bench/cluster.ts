/**
 * Cluster benchmarks (issue 10):
 *
 *   node --import tsx bench/cluster.ts [--json] [--smoke] [--only redeploy,send-by-name,lookup-cached]
 *     [--rounds N] [--stores sqlite,pg] [--proof on,off]
 *
 * - `redeploy`: three node processes on one store (the kill -9 test's
 *   nodes, `test/Cluster/fixtures/oracleNode.ts`, fenced writes included),
 *   1,000 writers spread over them and asked by name in a loop; the node with
 *   the most is SIGKILLed; ms from the kill to the last of its writers
 *   answering from a survivor (ttl 3 s). One row per store (`--stores`:
 *   SQLite, and PostgreSQL at 127.0.0.1:5432 `test` in a schema of its own,
 *   skipped when unreachable) and per same-host proof (`--proof`: on, target
 *   1 s; off, the survivors wait for the lease, target ttl + 1 s). A smoke
 *   run does SQLite with the proof only, unless told otherwise.
 * - `send-by-name`: two nodes in this process over remoting on 127.0.0.1
 *   and one memory store; tells by name to an actor of the other node,
 *   beside tells to its PID, a message built per send, 100,000 a round, in
 *   `--rounds` alternating rounds (9; which goes first alternates) after a
 *   warm-up of each: the median rates and the median of the rounds' ratios
 *   (`ratioToPid`, target 0.9; `cpuRatioToPid` the same by this process's
 *   CPU time, which a loaded machine disturbs less); and the store calls
 *   counted by a `faulty`
 *   wrapper: per spawn, and per message (besides the heartbeats, `renew` and
 *   `view`, counted apart per second).
 * - `lookup-cached`: on the same two nodes, a cached `lookup` and `actorOf`
 *   of the other node's actor, each beside `ActorSystem.lookup` of a local
 *   actor in alternating rounds: ns per lookup and the median ratio to the
 *   local one (`ratioToLocal`, `actorOfRatioToLocal`; target ≤ 2).
 *
 * Rows: JSON lines on stdout with `--json`, a table on stderr.
 */
import { Effect, Layer, Scope, Exit } from "effect"
import { join } from "node:path"
import { ActorSystem, Cluster, ClusterStore, Discovery, Remoting } from "../src/index.js"
import { killOneMidConversation } from "../test/Cluster/killScenario.js"
import { Counter, GetCount, Increment } from "./cluster/counter.js"
import { median, times } from "./harness.js"
import { pgSchema, tempDir } from "./stores.js"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const smoke = argv.includes("--smoke")
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const scenarios = ["redeploy", "send-by-name", "lookup-cached"] as const
const only = option("--only")?.split(",").filter((s) => s !== "")
for (const name of only ?? []) {
  if (!(scenarios as ReadonlyArray<string>).includes(name)) {
    console.error(`unknown scenario "${name}"; known: ${scenarios.join(", ")}`)
    process.exit(2)
  }
}
const selected = (scenario: typeof scenarios[number]) => only === undefined || only.includes(scenario)
const rounds = smoke ? 1 : Math.max(1, Number(option("--rounds") ?? 9))
const listOption = <A extends string>(name: string, all: ReadonlyArray<A>, byDefault: ReadonlyArray<A>): ReadonlyArray<A> => {
  const picked = option(name)?.split(",") ?? byDefault
  for (const value of picked) {
    if (!(all as ReadonlyArray<string>).includes(value)) {
      console.error(`unknown ${name} value "${value}"; known: ${all.join(", ")}`)
      process.exit(2)
    }
  }
  return picked as ReadonlyArray<A>
}
// A smoke run keeps to the row that always ran (SQLite, proof on) unless told otherwise.
const stores = listOption("--stores", ["sqlite", "pg"] as const, smoke ? ["sqlite"] : ["sqlite", "pg"])
const proofs = listOption("--proof", ["on", "off"] as const, smoke ? ["on"] : ["on", "off"]).map((p) => p === "on")

const emit = (row: Record<string, unknown>) => {
  console.error(`  ${Object.entries(row).map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 100) / 100 : v}`).join(" ")}`)
  if (json) console.log(JSON.stringify(row))
}

/** The lease of the redeploy scenario's nodes (`test/Cluster/fixtures/oracleNode.ts`). */
const ttlMs = 3000

/** One `redeploy` row: a store, and the same-host proof on or off. */
const redeployRow = (store: "sqlite" | "pg", proof: boolean) =>
  Effect.gen(function*() {
    const dir = yield* tempDir("ea-bench-redeploy-")
    const actors = smoke ? 60 : 1000
    const result = yield* killOneMidConversation(
      {
        storeKind: store,
        store: store === "pg" ? yield* pgSchema("ea_bench_redeploy") : join(dir, "cluster.db"),
        oracle: join(dir, "oracle.db"),
        sameHostProof: proof
      },
      actors
    )
    const target = proof ? 1000 : ttlMs + 1000
    emit({
      scenario: "redeploy",
      impl: "ours",
      value: result.redeployMs,
      unit: "ms",
      actors: result.lost.length,
      of: actors,
      store,
      proof,
      ttlMs,
      oracleRefused: result.oracle.rejected.length,
      target: `<= ${target}`,
      pass: result.redeployMs <= target && result.oracle.rejected.length === 0
    })
  }).pipe(Effect.scoped)

const redeploy = Effect.forEach(
  stores.flatMap((store) => proofs.map((proof) => [store, proof] as const)),
  ([store, proof]) =>
    store === "sqlite" ? redeployRow(store, proof) : redeployRow(store, proof).pipe(
      Effect.catchAll((error) => Effect.sync(() => console.error(`  redeploy pg proof=${proof} skipped: ${String(error)}`)))
    ),
  { discard: true }
)

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
    return {
      cluster: yield* Effect.provide(Cluster.Cluster, context),
      system: yield* Effect.provide(ActorSystem.ActorSystem, context),
      control
    }
  })

const total = (calls: Readonly<Record<string, number>>, except: ReadonlyArray<string> = []) =>
  Object.entries(calls).reduce((sum, [op, n]) => except.includes(op) ? sum : sum + n, 0)

/** Seconds `n` runs of `body` take, one after another. */
const seconds = <E>(n: number, body: () => Effect.Effect<unknown, E>) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* times(n, body)
    return (performance.now() - start) / 1000
  })

/**
 * Runs `a` and `b` for `rounds` rounds, alternating which goes first (so
 * neither always runs after the other's garbage), after one warm-up of
 * each; answers each one's result per round.
 */
const interleaved = <A, E>(rounds: number, a: Effect.Effect<A, E>, b: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    yield* a
    yield* b
    const as: Array<A> = []
    const bs: Array<A> = []
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        as.push(yield* a)
        bs.push(yield* b)
      } else {
        bs.push(yield* b)
        as.push(yield* a)
      }
    }
    return [as, bs] as const
  })

type Node = Effect.Effect.Success<ReturnType<typeof node>>

/** Store calls besides the heartbeats (`renew`, `view`). */
const storeCalls = (calls: Readonly<Record<string, number>>) => total(calls, ["renew", "view"])

/** `send-by-name` and `store-calls`: `a` holds the counters, `b` sends to one of them. */
const sendByName = (a: Node, b: Node) =>
  Effect.gen(function*() {
    const spawns = smoke ? 200 : 2000
    const before = yield* a.control.calls
    yield* Effect.forEach(Array.from({ length: spawns }, (_, i) => `c-${i}`), (name) => a.cluster.spawn(Counter, name), {
      concurrency: 64,
      discard: true
    })
    const perSpawn = (storeCalls(yield* a.control.calls) - storeCalls(before)) / spawns

    const messages = smoke ? 20_000 : 100_000
    const pid = yield* b.cluster.actorOf("c-0", Counter)
    // A message built per send, as users send them; a round ends when the actor has handled all of them.
    // Rates by the wall clock, and by this process's CPU time (both nodes run here): the second leaves out
    // the time other processes of a loaded machine took.
    const rate = (send: () => Effect.Effect<void, unknown>) =>
      Effect.gen(function*() {
        const cpu = process.cpuUsage()
        const wall = yield* seconds(1, () => Effect.zipRight(times(messages, send), pid.ask(new GetCount())))
        const used = process.cpuUsage(cpu)
        return { wall: messages / wall, cpu: messages / ((used.user + used.system) / 1e6) }
      })
    const counted = { calls: 0, all: 0, seconds: 0, messages: 0 }
    const byName = Effect.gen(function*() {
      const calls = [yield* a.control.calls, yield* b.control.calls] as const
      const start = performance.now()
      const result = yield* rate(() => b.cluster.sendAsync("c-0", new Increment({ by: 1 })))
      counted.seconds += (performance.now() - start) / 1000
      counted.messages += messages
      const after = [yield* a.control.calls, yield* b.control.calls] as const
      counted.calls += storeCalls(after[0]) + storeCalls(after[1]) - storeCalls(calls[0]) - storeCalls(calls[1])
      counted.all += total(after[0]) + total(after[1]) - total(calls[0]) - total(calls[1])
      return result
    })
    const byPid = rate(() => pid.tell(new Increment({ by: 1 })))
    const [names, pids] = yield* interleaved(rounds, byName, byPid)
    const ratios = names.map((n, i) => n.wall / (pids[i]?.wall ?? NaN))
    const ratio = median(ratios)
    emit({
      scenario: "send-by-name",
      impl: "ours",
      value: median(names.map((n) => n.wall)),
      unit: "msg/s",
      ratioToPid: ratio,
      ratios: ratios.map((r) => Math.round(r * 100) / 100).join(" "),
      cpuRatioToPid: median(names.map((n, i) => n.cpu / (pids[i]?.cpu ?? NaN))),
      rounds,
      target: ">= 0.9",
      pass: ratio >= 0.9
    })
    emit({ scenario: "send-by-pid", impl: "ours", value: median(pids.map((p) => p.wall)), unit: "msg/s" })
    emit({
      scenario: "store-calls",
      impl: "ours",
      value: perSpawn,
      unit: "calls/spawn",
      perMessage: counted.calls / counted.messages,
      heartbeatCallsPerSecond: counted.all / counted.seconds,
      nodes: 2
    })
  })

/**
 * `lookup-cached`: on `b`, a cached `lookup` and `actorOf` of an actor of
 * `a`, each beside `ActorSystem.lookup` of an actor of `b` in the same run
 * (ns per lookup, and the ratio: lower is better).
 */
const lookupCached = (a: Node, b: Node) =>
  Effect.gen(function*() {
    yield* a.cluster.spawn(Counter, "remote-0")
    yield* b.system.spawn(Counter, "local-0")
    yield* b.cluster.actorOf("remote-0", Counter) // cached from here on
    const lookups = smoke ? 20_000 : 500_000
    const perLookup = (lookup: () => Effect.Effect<unknown, unknown>) =>
      Effect.map(seconds(lookups, lookup), (s) => (s / lookups) * 1e9)
    const local = perLookup(() => b.system.lookup("local-0"))
    const [cached, local1] = yield* interleaved(rounds, perLookup(() => b.cluster.lookup("remote-0")), local)
    const [actorOf, local2] = yield* interleaved(rounds, perLookup(() => b.cluster.actorOf("remote-0", Counter)), local)
    const lookupRatio = median(cached.map((ns, i) => ns / (local1[i] ?? NaN)))
    const actorOfRatio = median(actorOf.map((ns, i) => ns / (local2[i] ?? NaN)))
    emit({
      scenario: "lookup-cached",
      impl: "ours",
      value: median(cached),
      unit: "ns/lookup",
      local: median([...local1, ...local2]),
      ratioToLocal: lookupRatio,
      actorOf: median(actorOf),
      actorOfRatioToLocal: actorOfRatio,
      target: "<= 2",
      pass: lookupRatio <= 2 && actorOfRatio <= 2
    })
  })

const twoNodes = Effect.gen(function*() {
  const store = yield* ClusterStore.makeMemory
  const a = yield* node(store, "a")
  const b = yield* node(store, "b")
  if (selected("send-by-name")) yield* sendByName(a, b)
  if (selected("lookup-cached")) yield* lookupCached(a, b)
}).pipe(Effect.scoped)

Effect.runPromise(
  Effect.zipRight(
    selected("send-by-name") || selected("lookup-cached") ? twoNodes : Effect.void,
    selected("redeploy") ? redeploy : Effect.void
  )
).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
