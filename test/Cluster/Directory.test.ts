/**
 * The directory of names across nodes (issue 10, item 3): several nodes in
 * one process over one memory store, talking over remoting on 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Schema, Scope } from "effect"
import { Actor } from "../../src/index.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import type { AnyDefinition } from "../../src/internal/system.js"
import { GetCount, Increment } from "../helpers.js"
import { Counter, startNode } from "./support.js"

class GetFence extends Schema.TaggedRequest<GetFence>()("GetFence", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

const Fenced = Actor.make("Fenced", {
  protocol: [GetFence],
  passivateAfter: "never",
  initialState: () => ({ atStart: -1 }),
  preStart: (ctx) => ctx.set({ atStart: Option.getOrElse(ctx.fence, () => 0) }),
  receive: {
    GetFence: (_, ctx) => Effect.succeed(Option.getOrElse(ctx.fence, () => 0) === ctx.state.atStart ? ctx.state.atStart : -2)
  }
})

const kinds = [Counter, Fenced] as unknown as ReadonlyArray<AnyDefinition>

const threeNodes = Effect.gen(function*() {
  const store = yield* ClusterStore.makeMemory
  const a = yield* startNode(store, "a", { kinds })
  const b = yield* startNode(store, "b", { kinds })
  const c = yield* startNode(store, "c", { kinds })
  for (const node of [a, b, c]) yield* node.refresh
  yield* Effect.addFinalizer(() =>
    Effect.forEach([c, b, a], (node) => Scope.close(node.scope, Exit.void), { discard: true })
  )
  return { store, a, b, c }
})

describe("I3 directory of names", () => {
  it.scopedLive("a name spawned on one node is taken on every other, with the owner's node", () =>
    Effect.gen(function*() {
      const { a, b, c } = yield* threeNodes
      yield* a.system.spawn(Counter, "counter")
      const onB = yield* Effect.flip(b.system.spawn(Counter, "counter"))
      expect(onB._tag).toBe("NameTaken")
      if (onB._tag === "NameTaken") {
        expect(onB.node).toBe("a")
        expect(onB.address).toContain("/counter")
      }
      const onC = yield* Effect.flip(c.cluster.spawn(Counter as unknown as AnyDefinition, "counter", undefined))
      expect(onC._tag).toBe("NameTaken")
    }))

  it.scopedLive("concurrent spawns of one name from three nodes create exactly one actor", () =>
    Effect.gen(function*() {
      const { a, b, c } = yield* threeNodes
      for (let round = 0; round < 20; round++) {
        const name = `race-${round}`
        const exits = yield* Effect.all(
          [a, b, c].map((node) => Effect.exit(node.system.spawn(Counter, name))),
          { concurrency: "unbounded" }
        )
        expect(exits.filter(Exit.isSuccess)).toHaveLength(1)
        for (const exit of exits) {
          if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("NameTaken")
        }
        const counts = yield* Effect.all([a, b, c].map((node) => node.system.count))
        expect(counts.reduce((x, y) => x + y, 0)).toBe(round + 1)
      }
    }))

  it.scopedLive("lookup and send by name from another node; asks answer from the owner", () =>
    Effect.gen(function*() {
      const { a, b, c } = yield* threeNodes
      yield* a.system.spawn(Counter, "counter")
      const found = yield* b.system.lookup("counter")
      expect(Option.isSome(found)).toBe(true)
      yield* b.cluster.tell("counter", new Increment({ by: 2 }))
      yield* c.cluster.tell("counter", new Increment({ by: 3 }))
      expect(yield* c.cluster.ask("counter", new GetCount(), undefined)).toBe(5)
      expect(yield* b.cluster.ask("counter", new GetCount(), undefined)).toBe(5)
      const missing = yield* Effect.flip(b.cluster.ask("nobody", new GetCount(), undefined))
      expect(missing).toMatchObject({ _tag: "ActorNotFound" })
      expect(Option.isNone(yield* b.system.lookup("nobody"))).toBe(true)
    }))

  it.scopedLive("stop releases the name: another node can spawn it, and senders follow it there", () =>
    Effect.gen(function*() {
      const { a, b, store } = yield* threeNodes
      const pid = yield* a.system.spawn(Counter, "counter")
      yield* b.cluster.tell("counter", new Increment({ by: 1 }))
      expect(yield* b.cluster.ask("counter", new GetCount(), undefined)).toBe(1)
      yield* pid.stop
      // The release is written in the background: wait for the row to go.
      yield* Effect.repeat(store.lookup(["counter"]), { until: (rows) => !rows.has("counter") })
      yield* b.system.spawn(Counter, "counter")
      // a's cached answer is not stale here (b owns it now, a resolves afresh); b's own send stays local.
      expect(yield* a.cluster.ask("counter", new GetCount(), undefined)).toBe(0)
      yield* a.cluster.tell("counter", new Increment({ by: 4 }))
      // Tells and asks from one sender arrive in order.
      expect(yield* a.cluster.ask("counter", new GetCount(), undefined)).toBe(4)
    }))

  it.scopedLive("a stale cached PID is corrected: the send re-resolves and reaches the new owner", () =>
    Effect.gen(function*() {
      const { a, b, c, store } = yield* threeNodes
      const first = yield* a.system.spawn(Counter, "counter")
      expect(yield* c.cluster.ask("counter", new GetCount(), undefined)).toBe(0) // c caches a's PID
      yield* first.stop
      yield* Effect.repeat(store.lookup(["counter"]), { until: (rows) => !rows.has("counter") })
      yield* b.system.spawn(Counter, "counter")
      yield* b.cluster.tell("counter", new Increment({ by: 7 }))
      // c's cache still names a, where the actor is gone: ActorNotFound there, then b answers.
      expect(yield* c.cluster.ask("counter", new GetCount(), undefined)).toBe(7)
    }))

  it.scopedLive("a tell by name built once resolves the name each time it runs: run again, it follows the actor to its new node", () =>
    Effect.gen(function*() {
      const { a, b, c, store } = yield* threeNodes
      const first = yield* a.system.spawn(Counter, "counter")
      expect(yield* c.cluster.ask("counter", new GetCount(), undefined)).toBe(0) // c caches a's PID
      const tell = c.cluster.tell("counter", new Increment({ by: 1 })) // built while the cache names a
      yield* tell
      expect(yield* c.cluster.ask("counter", new GetCount(), undefined)).toBe(1)
      yield* first.stop
      yield* Effect.repeat(store.lookup(["counter"]), { until: (rows) => !rows.has("counter") })
      yield* b.system.spawn(Counter, "counter")
      expect(yield* c.cluster.ask("counter", new GetCount(), undefined)).toBe(0) // corrected: c caches b's PID
      yield* tell
      yield* tell
      // From c, which sent the tells: they arrive before its ask.
      expect(yield* c.cluster.ask("counter", new GetCount(), undefined)).toBe(2)
    }))

  it.scopedLive("each change of owner draws a larger fence, readable as ctx.fence from preStart on", () =>
    Effect.gen(function*() {
      const { a, b, store } = yield* threeNodes
      const fences: Array<number> = []
      for (const node of [a, b, a, b]) {
        const pid = yield* node.system.spawn(Fenced, "fenced")
        const fence = yield* pid.ask(new GetFence())
        const row = (yield* store.lookup(["fenced"])).get("fenced")
        expect(row?.fence).toBe(fence)
        fences.push(fence)
        yield* pid.stop
        yield* Effect.repeat(store.lookup(["fenced"]), { until: (rows) => !rows.has("fenced") })
      }
      expect([...fences].sort((x, y) => x - y)).toEqual(fences)
      expect(new Set(fences).size).toBe(4)
    }))

  it.scopedLive("getOrSpawn answers the live actor wherever it runs", () =>
    Effect.gen(function*() {
      const { a, b } = yield* threeNodes
      const spawnOn = (node: typeof a) =>
        node.cluster.getOrSpawn("shared", node.cluster.spawn(Counter as unknown as AnyDefinition, "shared", undefined))
      const [p1, p2] = yield* Effect.all([spawnOn(a), spawnOn(b)], { concurrency: "unbounded" })
      expect(p1.address.toString()).toBe(p2.address.toString())
      yield* p1.tell(new Increment({ by: 1 }))
      yield* p2.tell(new Increment({ by: 1 }))
      yield* p1.ask(new GetCount())
      expect(yield* p2.ask(new GetCount())).toBe(2)
    }))

  it.scopedLive("a suspended node refuses spawns with ClusterSuspended and claims nothing", () =>
    Effect.gen(function*() {
      const { a, store } = yield* threeNodes
      a.view.suspended = true
      const error = yield* Effect.flip(a.system.spawn(Counter, "counter"))
      expect(error).toMatchObject({ _tag: "ClusterSuspended", node: "a" })
      expect((yield* store.lookup(["counter"])).size).toBe(0)
      a.view.suspended = false
      yield* a.system.spawn(Counter, "counter")
    }))

  it.scopedLive("a failed preStart gives the name back; children are not cluster names", () =>
    Effect.gen(function*() {
      const { a, b, store } = yield* threeNodes
      const Failing = Actor.make("Failing", {
        protocol: [Increment],
        preStart: () => Effect.fail("no"),
        receive: { Increment: () => Effect.void }
      })
      const error = yield* Effect.flip(a.system.spawn(Failing, "flaky"))
      expect(error._tag).toBe("SpawnFailed")
      yield* Effect.repeat(store.lookup(["flaky"]), { until: (rows) => !rows.has("flaky") })
      yield* b.system.spawn(Counter, "flaky")
    }))
})
