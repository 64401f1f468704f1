/**
 * Sends by name when the owner dies (issue 10, item 3): the cached PID of a
 * dead node is dropped as soon as remoting loses the node, and sends wait
 * for the survivor that adopts the name instead of going into the void
 * while the store still lists the dead node (its lease has not run out).
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.js"
import { type Errors, Transport } from "../../src/index.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { GetCount, Increment } from "../helpers.js"
import { advance, realPause, startClusterNode, withClock } from "./nodes.js"
import { Counter } from "./support.js"

/** Three nodes over one memory store and one test transport (to cut a node off its peers). */
const threeNodes = Effect.gen(function*() {
  const store = yield* ClusterStore.makeMemory
  const { controls, transport } = Transport.makeTest()
  const [a, b, c] = yield* Effect.forEach(["a", "b", "c"], (id) => startClusterNode(store, id, { kinds: [Counter] }, transport))
  yield* Effect.addFinalizer(() =>
    Effect.forEach([c!, b!, a!], (n) => Effect.zipRight(n.faults.set({}), n.close), { discard: true })
  )
  yield* advance(6000) // every lease valid for a full ttl: the reapers may act
  return { store, controls, a: a!, b: b!, c: c! }
})

/** Kills node a as far as everyone can tell: its peers cannot reach it, and it loses its store (its lease runs out). */
const crash = (nodes: Effect.Effect.Success<typeof threeNodes>) =>
  Effect.gen(function*() {
    const { a, c, controls } = nodes
    controls.partition(a.remoting.host, a.remoting.port)
    yield* a.faults.set({ fail: true })
    // Until c's connection to a has closed (the partition closes it on the next turns of the event loop).
    const key = `${a.remoting.host}:${a.remoting.port}`
    while ((yield* c.remoting.outbound).includes(key)) yield* realPause()
  })

describe("I3 sends by name after the owner died", () => {
  it.scoped("an ask through a dead node's cached PID waits for the adopter instead of failing NodeUnreachable", () =>
    Effect.gen(function*() {
      const nodes = yield* threeNodes
      const { a, c, store } = nodes
      yield* a.cluster.spawn(Counter, "counter")
      yield* withClock(c.cluster.sendAsync("counter", new Increment({ by: 1 })))
      expect(yield* withClock(c.cluster.sendSync("counter", new GetCount()))).toBe(1) // c caches a's PID
      yield* crash(nodes)
      // a is still `up` in the store: its lease runs for seconds. The ask waits for the redeployment.
      expect(yield* withClock(c.cluster.sendSync("counter", new GetCount()))).toBe(0) // fresh state on the adopter
      const row = (yield* store.lookup(["counter"])).get("counter")
      expect(row?.owner.nodeId).not.toBe("a")
    }), 60_000)

  it.scoped("tells by name after the owner died reach the adopter, none sent into the void", () =>
    Effect.gen(function*() {
      const nodes = yield* threeNodes
      const { a, b, c } = nodes
      yield* a.cluster.spawn(Counter, "counter")
      expect(yield* withClock(c.cluster.sendSync("counter", new GetCount()))).toBe(0) // c caches a's PID
      yield* crash(nodes)
      for (let i = 0; i < 3; i++) yield* withClock(c.cluster.sendAsync("counter", new Increment({ by: 1 })))
      expect(yield* withClock(b.cluster.sendSync("counter", new GetCount()))).toBe(3)
      // lookup by name names the adopter too
      const pid = yield* withClock(c.cluster.lookup("counter"))
      expect(pid._tag).toBe("Some")
      if (pid._tag === "Some") expect(pid.value.address.port).not.toBe(a.remoting.port)
    }), 60_000)
})

class Lookup extends Schema.TaggedRequest<Lookup>()("Lookup", {
  payload: { key: Schema.String },
  success: Schema.String,
  failure: Schema.Never
}) {}
class Withdraw extends Schema.TaggedRequest<Withdraw>()("Withdraw", {
  payload: { amount: Schema.Number },
  success: Schema.Number,
  failure: Schema.Literal("insufficient")
}) {}

describe("I3 sendSync types", () => {
  it("a request that cannot fail (Schema.Never) or fails with its own schema is accepted and typed", () => {
    type Base = Errors.AskError | Errors.UnknownMessage | Errors.ActorNotFound | ClusterStore.StoreUnavailable
    expectTypeOf(Cluster.sendSync("cache", new Lookup({ key: "k" }))).toEqualTypeOf<
      Effect.Effect<string, Base, Cluster.Cluster>
    >()
    expectTypeOf(Cluster.sendSync("account", new Withdraw({ amount: 1 }))).toEqualTypeOf<
      Effect.Effect<number, "insufficient" | Base, Cluster.Cluster>
    >()
  })
})
