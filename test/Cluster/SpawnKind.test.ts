/**
 * `spawnKind` across nodes (issue 10, item 4's traveling options): the role
 * asked for decides where the actor runs, and the options travel with the
 * name when another node spawns it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import * as Travel from "../../src/Cluster/internal/travel.js"
import { GetCount, Increment } from "../helpers.js"
import { advance, startClusterNode, withClock } from "./nodes.js"
import { Counter } from "./support.js"

const optionsOf = (store: ClusterStore.Service, name: string) =>
  Effect.map(store.lookup([name]), (rows) => {
    const row = rows.get(name)
    return { owner: row?.owner.nodeId, role: row?.role, relocate: row?.relocate, travel: Either.getOrUndefined(Travel.decode(row?.args)) }
  })

describe("I4 spawnKind", () => {
  it.scoped("runs on a node with the role asked for, and the options travel with the name", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startClusterNode(store, "a", { kinds: [Counter] })
      const b = yield* startClusterNode(store, "b", { kinds: [Counter], roles: ["gpu"] })
      const c = yield* startClusterNode(store, "c", { kinds: [] })
      yield* Effect.addFinalizer(() => Effect.forEach([c, b, a], (n) => n.close, { discard: true }))
      yield* advance(2000) // every node sees the others

      // a has the kind but not the role: b runs it.
      yield* withClock(a.cluster.spawnKind("Counter", "on-gpu", { role: "gpu", mailboxCapacity: 7, relocate: false }))
      expect(yield* optionsOf(store, "on-gpu")).toEqual({
        owner: "b",
        role: "gpu",
        relocate: false,
        travel: { role: "gpu", mailboxCapacity: 7, relocate: false }
      })

      // c does not have the kind: a node that has it claims the name with c's options.
      const pid = yield* withClock(c.cluster.spawnKind("Counter", "elsewhere", { supervision: "restart", stashCapacity: 3 }))
      const row = yield* optionsOf(store, "elsewhere")
      expect(["a", "b"]).toContain(row.owner)
      expect(row.travel).toEqual({ supervision: "restart", stashCapacity: 3 })
      yield* withClock(pid.tell(new Increment({ by: 2 })))
      expect(yield* withClock(c.cluster.sendSync("elsewhere", new GetCount()))).toBe(2)

      // The name is taken everywhere; no node has the role asked for: typed errors.
      expect(yield* withClock(Effect.flip(c.cluster.spawnKind("Counter", "elsewhere")))).toMatchObject({
        _tag: "NameTaken"
      })
      expect(yield* withClock(Effect.flip(a.cluster.spawnKind("Counter", "x", { role: "tpu" })))).toMatchObject({
        _tag: "KindNotRegistered"
      })
    }), 60_000)
})
