/**
 * A spawn whose claim the store has not answered when the node suspends
 * (issue 10: "spawns on it fail with a typed ClusterSuspended"), under the
 * TestClock on the memory store: the claims of node `a` wait at a gate the
 * test opens, its renewals hang.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { advance, eventually, realPause, startClusterNode } from "./nodes.js"
import { Counter } from "./support.js"

describe("I3 a spawn in flight when its node suspends", () => {
  it.scoped("fails with ClusterSuspended at the suspension; the claim granted later is given back, nothing runs", () =>
    Effect.gen(function*() {
      const shared = yield* ClusterStore.makeMemory
      const gate = yield* Deferred.make<void>()
      const gated: ClusterStore.Service = {
        ...shared,
        claim: (owner, requests) => Effect.zipRight(Deferred.await(gate), shared.claim(owner, requests))
      }
      const a = yield* startClusterNode(gated, "a", { kinds: [Counter] })
      const b = yield* startClusterNode(shared, "b", { kinds: [Counter] })
      yield* Effect.addFinalizer(() => Effect.forEach([b, a], (n) => Effect.zipRight(n.faults.set({}), n.close), { discard: true }))
      yield* advance(6000)
      const self = yield* a.cluster.self
      yield* a.faults.set({ hang: true, operations: ["renew"] })
      const spawn = yield* Effect.fork(a.cluster.spawn(Counter, "boundary"))
      yield* eventually(Effect.map(a.cluster.membership.state.get, (state) => state === "suspended"))
      yield* realPause(20)
      // Answered at the suspension, without waiting for the store.
      const exit = yield* Fiber.poll(spawn)
      expect(Option.isSome(exit)).toBe(true) // done, not waiting for the store
      expect(yield* Effect.flip(Fiber.join(spawn))).toMatchObject({ _tag: "ClusterSuspended", node: "a", actorName: "boundary" })
      // The store answers now, while a's lease still holds: it grants the name, and a gives it back.
      expect((yield* shared.view()).pipe(Option.getOrThrow).members.find((m) => m.nodeId === "a")?.status).toBe("up")
      yield* Deferred.succeed(gate, undefined)
      yield* realPause(20)
      yield* eventually(Effect.map(shared.lookup(["boundary"]), (rows) => !rows.has("boundary")), 1000)
      expect(Option.isNone(yield* a.system.lookup("boundary"))).toBe(true)
      // Declared dead later, a has nothing named `boundary` for b to adopt.
      yield* eventually(Effect.map(shared.view(), (view) =>
        Option.getOrThrow(view).members.some((m) => m.nodeId === "a" && m.epoch === self.epoch && m.status === "dead")))
      yield* advance(2000)
      expect((yield* shared.lookup(["boundary"])).has("boundary")).toBe(false)
      expect(Option.isNone(yield* b.system.lookup("boundary"))).toBe(true)
    }), 60_000)
})
