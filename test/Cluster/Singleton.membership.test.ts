/**
 * The public `Singleton` module over real `Membership` (memory store,
 * TestClock): placement on the oldest member, handover when that node's
 * singletons and membership close, and `layerSchedules` making a scheduler
 * cluster-unique.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Scope, TestClock } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import * as Discovery from "../../src/Cluster/Discovery.js"
import * as Membership from "../../src/Cluster/Membership.js"
import * as Singleton from "../../src/Cluster/Singleton.js"
import { ActorSystem, Scheduler } from "../../src/index.js"
import { GetTicks, makeRecorder, Tick } from "../fixtures/recorder.js"
import { Counter } from "./support.js"

const Recorder = makeRecorder({ passivateAfter: "never" })

const startNode = (store: ClusterStore.Service, nodeId: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const system = yield* Scope.extend(ActorSystem.make({ name: nodeId }), scope)
    const base = Context.make(ClusterStore.ClusterStore, store).pipe(
      Context.add(Discovery.Discovery, Discovery.makeStatic([])),
      Context.add(ActorSystem.ActorSystem, system)
    )
    const membership = yield* Scope.extend(
      Effect.provide(Membership.make({ nodeId, kinds: ["Counter"], reapInterval: "250 millis" }), base),
      scope
    )
    const context = Context.add(base, Membership.Membership, membership)
    const singletons = yield* Scope.extend(Effect.provide(Singleton.make(), context), scope)
    const scheduler = yield* Scope.extend(
      Effect.provide(Scheduler.make, Layer.merge(Layer.succeedContext(context), Singleton.layerSchedules.pipe(Layer.provide(Layer.succeedContext(context))))),
      scope
    )
    return { nodeId, system, singletons, scheduler, scope }
  })

const advance = (ms: number, step = 100) =>
  Effect.gen(function*() {
    for (let t = 0; t < ms; t += step) yield* TestClock.adjust(Math.min(step, ms - t))
  })

describe("I9 Singleton over Membership", () => {
  it.scoped("runs on the oldest member, and moves when that node closes", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startNode(store, "a")
      const b = yield* startNode(store, "b")
      yield* Effect.addFinalizer(() => Scope.close(b.scope, Exit.void))
      const onA = yield* a.singletons.singleton(Counter, "leader")
      yield* b.singletons.singleton(Counter, "leader")
      expect(yield* a.singletons.declared).toEqual(["leader"])
      yield* advance(1000)
      expect(Option.isSome(yield* a.system.lookup("leader"))).toBe(true)
      expect(Option.isSome(yield* b.system.lookup("leader"))).toBe(false)
      expect(yield* onA.isAlive).toBe(true)
      yield* Scope.close(a.scope, Exit.void)
      // Well inside the lease (5 s): handed over, not left to expire.
      yield* advance(1500)
      expect(Option.isSome(yield* b.system.lookup("leader"))).toBe(true)
      expect((yield* store.lookup(["leader"])).get("leader")?.owner.nodeId).toBe("b")
    }))

  it.scoped("layerSchedules: a cron schedule declared on two nodes is delivered once per tick", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const sink = yield* ActorSystem.make({ name: "sink" })
      const recorder = yield* sink.spawn(Recorder, "recorder")
      const nodes = [yield* startNode(store, "a"), yield* startNode(store, "b")]
      yield* Effect.addFinalizer(() => Effect.forEach(nodes, (node) => Scope.close(node.scope, Exit.void)))
      for (const node of nodes) {
        yield* node.scheduler.scheduleCron(new Tick(), recorder, "* * * * * *", { reference: "tick" })
      }
      yield* advance(5000)
      expect(yield* recorder.ask(new GetTicks())).toEqual([1000, 2000, 3000, 4000, 5000])
    }))
})
