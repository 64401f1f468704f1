/**
 * Framework actors that are a node's own stay out of the cluster's
 * directory: TestKit probes on two cluster nodes do not contend for a name.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { makeService } from "../../src/internal/testkit.js"
import { startNode } from "./support.js"

describe("I3 names outside the directory", () => {
  it.scopedLive("TestKit probes on two cluster nodes take the same name, and claim nothing", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startNode(store, "a")
      const b = yield* startNode(store, "b")
      yield* Effect.addFinalizer(() => Effect.forEach([b, a], (n) => Scope.close(n.scope, Exit.void), { discard: true }))
      const settings = { timeout: "1 second", noMessageWait: "100 millis" } as const
      yield* makeService(a.system, settings).probe()
      yield* makeService(b.system, settings).probe()
      expect((yield* store.lookup(["probe-1"])).size).toBe(0)
    }))
})
