/**
 * Reconcile (issue 10, item 4): the rows a node owns against its running
 * actors. Rows that are not actors' (`schedule:<reference>`, held by the
 * cluster scheduler) are left alone.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Scope } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { scheduleKind } from "../../src/Cluster/internal/clusterSchedule.js"
import { Redeployer } from "../../src/Cluster/internal/redeploy.js"
import * as Rendezvous from "../../src/Cluster/internal/rendezvous.js"
import { startNode } from "./support.js"

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
})
