/**
 * Reconcile (issue 10, item 4): the rows a node owns against its running
 * actors. Rows that are not actors' (`schedule:<reference>`, held by the
 * cluster scheduler) are left alone.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Scope } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { scheduleKind } from "../../src/Cluster/internal/clusterSchedule.js"
import { Redeployer } from "../../src/Cluster/internal/redeploy.js"
import * as Rendezvous from "../../src/Cluster/internal/rendezvous.js"
import { GetCount } from "../helpers.js"
import { Counter, startNode } from "./support.js"

describe("I4 reconcile", () => {
  it.scopedLive("keeps a schedule row this node holds (no actor runs under it), and respawns a missing actor", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startNode(store, "a")
      yield* Effect.addFinalizer(() => Scope.close(a.scope, Exit.void))
      const redeployer = new Redeployer(a.cluster.directory, yield* Rendezvous.make, {
        claimTimeout: Duration.seconds(2)
      }, () => Date.now())
      yield* Effect.orDie(store.claim(a.view.self, [
        { name: "schedule:nightly", kind: scheduleKind, relocate: false },
        { name: "counter", kind: "Counter" }
      ]))
      // A row is acted on when it is found without its actor twice in a row.
      yield* Effect.orDie(redeployer.reconcile)
      yield* Effect.orDie(redeployer.reconcile)
      const rows = yield* Effect.orDie(store.lookup(["schedule:nightly", "counter"]))
      expect(rows.get("schedule:nightly")?.owner.nodeId).toBe("a")
      expect((yield* a.system.lookup("counter"))._tag).toBe("Some")
    }))

  it.scopedLive("an actor spawned while reconcile reads the rows is not taken for a zombie", () =>
    Effect.gen(function*() {
      const inner = yield* ClusterStore.makeMemory
      const reading = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      let hold = false
      // The read answers from before the spawn, and reconcile sees the answer after it.
      const store: ClusterStore.Service = {
        ...inner,
        owned: (self) =>
          hold
            ? inner.owned(self).pipe(Effect.zipLeft(Deferred.succeed(reading, undefined)), Effect.zipLeft(Deferred.await(gate)))
            : inner.owned(self)
      }
      const a = yield* startNode(store, "a")
      yield* Effect.addFinalizer(() => Scope.close(a.scope, Exit.void))
      const redeployer = new Redeployer(a.cluster.directory, yield* Rendezvous.make, {
        claimTimeout: Duration.seconds(2)
      }, () => Date.now())
      hold = true
      const pass = yield* Effect.fork(Effect.orDie(redeployer.reconcile))
      yield* Deferred.await(reading)
      const late = yield* a.system.spawn(Counter, "late")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(pass)
      expect(yield* late.ask(new GetCount())).toBe(0)
      expect((yield* a.system.lookup("late"))._tag).toBe("Some")
    }))
})
