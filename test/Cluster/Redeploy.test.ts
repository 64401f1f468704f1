/**
 * Redeployment without a leader, opt-outs, missing kinds and graceful leave
 * (issue 10, items 4 and 5): full cluster nodes in one process over one
 * memory store, under the TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Option } from "effect"
import { Actor } from "../../src/index.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { GetCount, Increment } from "../helpers.js"
import { advance, type ClusterNode, drain, eventually, realPause, startClusterNode, withClock } from "./nodes.js"
import { Counter } from "./support.js"

const Special = Actor.make("Special", {
  protocol: [Increment, GetCount],
  initialState: () => 100,
  passivateAfter: "never",
  receive: {
    Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
    GetCount: (_, ctx) => ctx.get
  }
})

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)

const owners = (store: ClusterStore.Service, all: ReadonlyArray<string>) =>
  Effect.map(store.lookup(all), (rows) => all.map((name) => rows.get(name)))

const countsOf = (node: ClusterNode, all: ReadonlyArray<string>) =>
  withClock(Effect.forEach(all, (name) => node.cluster.sendSync(name, new GetCount())))

describe("I4 redeployment", () => {
  it.scoped("a node cut off from the store suspends, then survivors adopt its actors once, spread over both", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startClusterNode(store, "a", { kinds: [Counter] })
      const b = yield* startClusterNode(store, "b", { kinds: [Counter] })
      const c = yield* startClusterNode(store, "c", { kinds: [Counter] })
      yield* Effect.addFinalizer(() => Effect.forEach([c, b, a], (n) => Effect.zipRight(n.faults.set({}), n.close), { discard: true }))
      yield* advance(6000) // every lease valid for a full ttl: the reapers may act
      const all = names("w", 40)
      for (const name of all) yield* a.cluster.spawn(Counter, name)
      yield* withClock(Effect.forEach(all, (name) => b.cluster.sendAsync(name, new Increment({ by: 1 }))))
      expect(yield* countsOf(b, all)).toEqual(all.map(() => 1))
      const before = yield* owners(store, all)
      yield* a.faults.set({ hang: true })
      // a suspends at its deadline (ttl − margin after its last renewal) and stops its actors...
      yield* eventually(Effect.map(a.system.count, (n) => n <= 2)) // only its control and gateway actors are left
      const atSuspension = yield* owners(store, all)
      expect(atSuspension.every((row) => row?.owner.nodeId === "a")).toBe(true) // ...strictly before any adoption
      // ...then b and c mark it dead and adopt.
      yield* eventually(Effect.map(owners(store, all), (rows) => rows.every((row) => row?.owner.nodeId !== "a")))
      const after = yield* owners(store, all)
      const byB = after.filter((row) => row?.owner.nodeId === "b").length
      const byC = after.filter((row) => row?.owner.nodeId === "c").length
      expect(byB + byC).toBe(all.length)
      expect(byB).toBeGreaterThan(0)
      expect(byC).toBeGreaterThan(0)
      after.forEach((row, i) => expect(row!.fence).toBeGreaterThan(before[i]!.fence))
      // Fresh state, running on the survivors, reachable by name from either.
      expect(yield* countsOf(c, all)).toEqual(all.map(() => 0))
      expect((yield* b.system.count) + (yield* c.system.count)).toBe(all.length + 4) // + control and gateway actors
      const events = [...Chunk.toArray(yield* drain(b)), ...Chunk.toArray(yield* drain(c))]
      const finished = events.flatMap((e) => e._tag === "RedeployFinished" ? e.names : [])
      expect([...finished].sort()).toEqual([...all].sort())
      expect(events.some((e) => e._tag === "RedeployStarted")).toBe(true)
    }), 60_000)

  it.scoped("the node that declares a peer dead tells the others: they adopt at once, not at their next view read", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startClusterNode(store, "a", { kinds: [Counter] })
      const b = yield* startClusterNode(store, "b", { kinds: [Counter] })
      // c reads the view only when told: its reaper's tick is an hour away.
      const c = yield* startClusterNode(store, "c", { kinds: [Counter], reapInterval: "1 hour" })
      yield* Effect.addFinalizer(() => Effect.forEach([c, b, a], (n) => Effect.zipRight(n.faults.set({}), n.close), { discard: true }))
      yield* advance(6000)
      const all = names("t", 30)
      for (const name of all) yield* a.cluster.spawn(Counter, name)
      yield* a.faults.set({ hang: true })
      // b marks a dead when its lease runs out and tells c, whose share would otherwise wait an hour.
      yield* eventually(Effect.map(owners(store, all), (rows) => rows.every((row) => row?.owner.nodeId !== "a")), 20_000)
      const after = yield* owners(store, all)
      expect(after.filter((row) => row?.owner.nodeId === "c").length).toBeGreaterThan(0)
      expect(after.filter((row) => row?.owner.nodeId === "b").length).toBeGreaterThan(0)
    }), 60_000)

  it.scoped("opt-outs: relocate=false per actor and per system; their rows are deleted, not adopted", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startClusterNode(store, "a", { kinds: [Counter] })
      const s = yield* startClusterNode(store, "s", { kinds: [Counter], relocate: false })
      const b = yield* startClusterNode(store, "b", { kinds: [Counter] })
      yield* Effect.addFinalizer(() => Effect.forEach([b, s, a], (n) => Effect.zipRight(n.faults.set({}), n.close), { discard: true }))
      yield* advance(6000)
      yield* a.cluster.spawn(Counter, "moves")
      yield* a.cluster.spawn(Counter, "stays", { relocate: false })
      yield* s.cluster.spawn(Counter, "system-stays")
      yield* a.faults.set({ hang: true })
      yield* s.faults.set({ hang: true })
      yield* eventually(Effect.map(store.lookup(["moves", "stays", "system-stays"]), (rows) =>
        rows.get("moves")?.owner.nodeId === "b" && !rows.has("stays") && !rows.has("system-stays")))
      expect(yield* countsOf(b, ["moves"])).toEqual([0])
      expect(yield* withClock(Effect.flip(b.cluster.sendSync("stays", new GetCount())))).toMatchObject({
        _tag: "ActorNotFound"
      })
    }), 60_000)

  it.scoped("a kind no live node has is reported, kept, and adopted when a node with it joins", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startClusterNode(store, "a", { kinds: [Counter, Special] })
      const b = yield* startClusterNode(store, "b", { kinds: [Counter] })
      yield* Effect.addFinalizer(() => Effect.forEach([b, a], (n) => Effect.zipRight(n.faults.set({}), n.close), { discard: true }))
      yield* advance(6000)
      yield* a.cluster.spawn(Special, "special")
      yield* a.faults.set({ hang: true })
      yield* eventually(Effect.map(drain(b), (events) =>
        Chunk.some(events, (e) => e._tag === "RedeployFailed" && e.name === "special")))
      const row = (yield* store.lookup(["special"])).get("special")
      expect(row?.owner.nodeId).toBe("a") // kept, waiting
      expect(row?.live).toBe(false)
      const d = yield* startClusterNode(store, "d", { kinds: [Special] })
      yield* Effect.addFinalizer(() => d.close)
      yield* eventually(Effect.map(store.lookup(["special"]), (rows) => rows.get("special")?.owner.nodeId === "d"))
      expect(yield* countsOf(b, ["special"])).toEqual([100])
    }), 60_000)

  it.scoped("a node that renews again after a short outage keeps its names; its actors come back", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startClusterNode(store, "a", { kinds: [Counter] })
      const b = yield* startClusterNode(store, "b", { kinds: [Counter] })
      yield* Effect.addFinalizer(() => Effect.forEach([b, a], (n) => Effect.zipRight(n.faults.set({}), n.close), { discard: true }))
      yield* advance(6000)
      yield* a.cluster.spawn(Counter, "kept")
      const fence = (yield* store.lookup(["kept"])).get("kept")!.fence
      yield* a.faults.set({ fail: true, operations: ["renew"] })
      yield* advance(2500) // shorter than the lease: nobody may take it
      yield* a.faults.set({})
      yield* eventually(Effect.map(a.system.lookup("kept"), Option.isSome))
      const row = (yield* store.lookup(["kept"])).get("kept")
      expect(row?.owner.nodeId).toBe("a")
      expect(row?.fence).toBe(fence)
    }), 60_000)
})

describe("I5 graceful leave", () => {
  it.scoped("closing a node hands its names to the survivors within the drain and a round trip, not a lease", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startClusterNode(store, "a", { kinds: [Counter] })
      const b = yield* startClusterNode(store, "b", { kinds: [Counter] })
      const c = yield* startClusterNode(store, "c", { kinds: [Counter] })
      yield* Effect.addFinalizer(() => Effect.forEach([c, b], (n) => Effect.zipRight(n.faults.set({}), n.close), { discard: true }))
      yield* advance(6000)
      const all = names("l", 30)
      for (const name of all) yield* a.cluster.spawn(Counter, name)
      yield* a.close
      // No TestClock time passes: only the hint (a tell) and real I/O.
      for (let i = 0; i < 500; i++) {
        const rows = yield* owners(store, all)
        if (rows.every((row) => row !== undefined && row.owner.nodeId !== "a")) break
        yield* realPause(5)
      }
      const rows = yield* owners(store, all)
      expect(rows.every((row) => row !== undefined && row.owner.nodeId !== "a")).toBe(true)
      expect(yield* countsOf(b, all)).toEqual(all.map(() => 0))
      const view = yield* store.view()
      const left = Option.getOrThrow(view).members.find((m) => m.nodeId === "a")
      expect(left?.status).toBe("left")
    }), 60_000)
})
