/**
 * Grains (virtual actors, issue 11 item 1): full cluster nodes in one
 * process over one memory store, remoting on 127.0.0.1, under the
 * TestClock. An oracle records every activation's fence: an activation may
 * start only when no other activation of its id runs, with a larger fence
 * than any before, and no message may be processed under a fence older than
 * the newest one drawn for its id.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Schema } from "effect"
import { Actor } from "../../src/index.js"
import type * as Cluster from "../../src/Cluster/Cluster.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import * as Rendezvous from "../../src/Cluster/internal/rendezvous.js"
import { incarnationKey } from "../../src/Cluster/internal/directory.js"
import { GetCount, Increment } from "../helpers.js"
import { advance, type ClusterNode, eventually, realPause, startClusterNode, withClock } from "./nodes.js"

class Where extends Schema.TaggedRequest<Where>()("Where", {
  payload: {},
  success: Schema.Struct({ node: Schema.String, fence: Schema.Number, count: Schema.Number }),
  failure: Schema.Never
}) {}

/** Makes the grain tell its sender a `Pong`. */
class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
class Pong extends Schema.TaggedClass<Pong>()("Pong", { id: Schema.String, node: Schema.String }) {}

/** Activations and fenced writes, per grain id. */
class Oracle {
  readonly running = new Map<string, number>()
  readonly newest = new Map<string, number>()
  readonly violations: Array<string> = []
  activations = 0

  start(id: string, fence: number): void {
    this.activations++
    const other = this.running.get(id)
    if (other !== undefined) this.violations.push(`${id}: fence ${fence} started while ${other} runs`)
    if (fence <= (this.newest.get(id) ?? -1)) this.violations.push(`${id}: fence ${fence} is not newer`)
    this.running.set(id, fence)
    this.newest.set(id, fence)
  }

  stop(id: string, fence: number): void {
    if (this.running.get(id) === fence) this.running.delete(id)
  }

  write(id: string, fence: number): void {
    if (fence < (this.newest.get(id) ?? -1)) this.violations.push(`${id}: write under stale fence ${fence}`)
  }
}

const idOf = (name: string) => name.slice(name.indexOf("~~") + 2)

const makeCart = (oracle: Oracle, passivateAfter?: "1 second") =>
  Actor.make("Cart", {
    protocol: [Increment, GetCount, Where, Ping],
    initialState: () => ({ count: 0, fence: -1 }),
    ...(passivateAfter === undefined ? {} : { passivateAfter }),
    preStart: (ctx) =>
      Effect.flatMap(ctx.get, (state) => {
        const fence = Option.getOrElse(ctx.fence, () => -1)
        oracle.start(idOf(ctx.self.name), fence)
        return ctx.set({ ...state, fence })
      }),
    postStop: (ctx) => Effect.map(ctx.get, (state) => oracle.stop(idOf(ctx.self.name), state.fence)),
    receive: {
      Increment: (msg, ctx) =>
        Effect.flatMap(ctx.get, (state) => {
          oracle.write(idOf(ctx.self.name), state.fence)
          return ctx.set({ ...state, count: state.count + msg.by })
        }),
      GetCount: (_, ctx) => Effect.map(ctx.get, (state) => state.count),
      Where: (_, ctx) =>
        Effect.map(ctx.get, (state) => {
          oracle.write(idOf(ctx.self.name), state.fence)
          return { node: ctx.self.address.system, fence: state.fence, count: state.count }
        }),
      Ping: (_, ctx) =>
        Option.match(ctx.sender, {
          onNone: () => Effect.void,
          onSome: (sender) =>
            Effect.ignore(sender.tell(new Pong({ id: idOf(ctx.self.name), node: ctx.self.address.system })))
        })
    }
  })

/** Pings a grain from inside an actor (so the ping has a sender) and collects the grains' `Pong`s. */
class PingGrain extends Schema.TaggedClass<PingGrain>()("PingGrain", { id: Schema.String }) {}
class Pongs extends Schema.TaggedRequest<Pongs>()("Pongs", {
  payload: {},
  success: Schema.Array(Schema.Struct({ id: Schema.String, node: Schema.String })),
  failure: Schema.Never
}) {}

const makePinger = (cluster: Cluster.Service, Cart: ReturnType<typeof makeCart>) =>
  Actor.make("Pinger", {
    protocol: [PingGrain, Pong, Pongs],
    initialState: (): ReadonlyArray<{ readonly id: string; readonly node: string }> => [],
    receive: {
      PingGrain: (msg) => Effect.ignore(Effect.flatMap(cluster.grain(Cart, msg.id), (ref) => ref.tell(new Ping()))),
      Pong: (msg, ctx) => ctx.update((pongs) => [...pongs, { id: msg.id, node: msg.node }]),
      Pongs: (_, ctx) => ctx.get
    }
  })

const closeAll = (nodes: ReadonlyArray<ClusterNode>) =>
  Effect.addFinalizer(() =>
    Effect.forEach([...nodes].reverse(), (n) => Effect.zipRight(n.faults.set({}), n.close), { discard: true })
  )

const threeNodes = (oracle: Oracle, grains: { readonly maxResident?: number } = {}, passivate?: "1 second") =>
  Effect.gen(function*() {
    const store = yield* ClusterStore.makeMemory
    const Cart = makeCart(oracle, passivate)
    const nodes: Array<ClusterNode> = []
    for (const id of ["a", "b", "c"]) nodes.push(yield* startClusterNode(store, id, { kinds: [Cart], grains }))
    yield* closeAll(nodes)
    yield* advance(6000) // every lease valid for a full ttl: the reapers may act
    return { store, Cart, nodes }
  })

const where = (node: ClusterNode, Cart: ReturnType<typeof makeCart>, id: string) =>
  withClock(Effect.flatMap(node.cluster.grain(Cart, id), (ref) => ref.ask(new Where())))

/**
 * Three nodes with 40 grains active (ids `${prefix}-i`), then a node `d`
 * joins and becomes the owner of some of them, seen by every node: the ids
 * it owns now (`movedIds`) and where each grain was active (`before`).
 */
const withJoinedOwner = (oracle: Oracle, prefix: string) =>
  Effect.gen(function*() {
    const { Cart, nodes, store } = yield* threeNodes(oracle)
    const placement = yield* Rendezvous.make
    const ids = Array.from({ length: 40 }, (_, i) => `${prefix}-${i}`)
    const before = yield* Effect.forEach(ids, (id) => where(nodes[1]!, Cart, id))
    const d = yield* startClusterNode(store, "d", { kinds: [Cart] })
    yield* Effect.addFinalizer(() => d.close)
    for (const node of nodes) {
      yield* eventually(Effect.map(node.cluster.nodes, (members) => members.some((m) => m.nodeId === "d")))
    }
    const members = yield* nodes[0]!.cluster.nodes
    const movedIds = ids.filter((id) => placement.pick(`~Cart~~${id}`, members.map(incarnationKey))?.startsWith("d#"))
    expect(movedIds.length).toBeGreaterThan(0)
    return { Cart, nodes, d, ids, before, movedIds }
  })

describe("I2 grains", () => {
  it.scoped("the first message activates a grain on its rendezvous owner, with one store write; later messages none", () =>
    Effect.gen(function*() {
      const oracle = new Oracle()
      const { Cart, nodes, store } = yield* threeNodes(oracle)
      const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode]
      const placement = yield* Rendezvous.make
      const members = yield* a.cluster.nodes
      const claimsBefore = (yield* Effect.forEach(nodes, (n) => n.faults.calls)).map((calls) => calls.claim ?? 0)
      const first = yield* where(b, Cart, "cart-1")
      const row = (yield* store.lookup(["~Cart~~cart-1"])).get("~Cart~~cart-1")
      expect(row?.owner.nodeId).toBe(first.node)
      expect(row?.fence).toBe(first.fence)
      const expected = placement.pick("~Cart~~cart-1", members.map(incarnationKey))
      expect(expected?.startsWith(`${first.node}#`)).toBe(true)
      // Every node reaches the same activation, by tell and by ask, without another claim.
      for (const node of nodes) {
        const ref = yield* node.cluster.grain(Cart, "cart-1")
        for (let i = 0; i < 10; i++) yield* withClock(ref.tell(new Increment({ by: 1 })))
      }
      const after = yield* where(c, Cart, "cart-1")
      expect(after).toEqual({ node: first.node, fence: first.fence, count: 30 })
      const claimsAfter = (yield* Effect.forEach(nodes, (n) => n.faults.calls)).map((calls) => calls.claim ?? 0)
      const claims = claimsAfter.reduce((x, y) => x + y, 0) - claimsBefore.reduce((x, y) => x + y, 0)
      expect(claims).toBe(1)
      expect(oracle.activations).toBe(1)
      expect(yield* Effect.flip(a.cluster.grain(Cart, ""))).toMatchObject({ _tag: "InvalidArgument" })
    }), 60_000)

  it.scoped("an idle grain passivates and releases its row; its next message activates it again, fresh", () =>
    Effect.gen(function*() {
      const oracle = new Oracle()
      const { Cart, nodes, store } = yield* threeNodes(oracle, {}, "1 second")
      const [a] = nodes as [ClusterNode]
      const ref = yield* a.cluster.grain(Cart, "idle")
      yield* withClock(ref.tell(new Increment({ by: 5 })))
      const first = yield* where(a, Cart, "idle")
      expect(first.count).toBe(5)
      yield* eventually(Effect.map(store.lookup(["~Cart~~idle"]), (rows) => !rows.has("~Cart~~idle")))
      const resident = yield* Effect.forEach(nodes, (n) => n.cluster.residentGrains)
      expect(resident.reduce((x, y) => x + y, 0)).toBe(0)
      const again = yield* where(a, Cart, "idle")
      expect(again.count).toBe(0)
      expect(again.fence).toBeGreaterThan(first.fence)
      expect(oracle.activations).toBe(2)
      expect(oracle.violations).toEqual([])
    }), 60_000)

  it.scoped("after its node dies a grain comes back lazily, on its next message, on a survivor", () =>
    Effect.gen(function*() {
      const oracle = new Oracle()
      const { Cart, nodes, store } = yield* threeNodes(oracle)
      const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode]
      const ids = Array.from({ length: 30 }, (_, i) => `g-${i}`)
      const before = yield* Effect.forEach(ids, (id) => where(b, Cart, id))
      const onA = ids.filter((_, i) => before[i]!.node === "a")
      expect(onA.length).toBeGreaterThan(0)
      yield* a.faults.set({ hang: true }) // a is cut off: it suspends, then the others mark it dead
      yield* eventually(Effect.map(b.cluster.nodes, (members) => !members.some((m) => m.nodeId === "a")))
      // Lazily: the redeployment dropped a's grain rows instead of activating them elsewhere.
      yield* eventually(Effect.map(store.lookup(onA.map((id) => `~Cart~~${id}`)), (rows) => rows.size === 0))
      const residentBefore = (yield* b.cluster.residentGrains) + (yield* c.cluster.residentGrains)
      expect(residentBefore).toBe(ids.length - onA.length)
      const after = yield* Effect.forEach(ids, (id) => where(c, Cart, id))
      after.forEach((answer, i) => {
        expect(answer.node).not.toBe("a")
        if (before[i]!.node !== "a") expect(answer).toEqual(before[i])
        else expect(answer.fence).toBeGreaterThan(before[i]!.fence)
      })
      expect(oracle.violations).toEqual([])
    }), 90_000)

  it.scoped("a node that joins and becomes a grain's owner redirects its messages to the live activation", () =>
    Effect.gen(function*() {
      const oracle = new Oracle()
      const { Cart, nodes, d, ids, before, movedIds } = yield* withJoinedOwner(oracle, "r")
      const a = nodes[0]!
      // Their owner is d now, but they are active elsewhere: d redirects, the sender follows and remembers.
      for (const id of movedIds) {
        const ref = yield* a.cluster.grain(Cart, id)
        yield* withClock(ref.tell(new Increment({ by: 1 })))
        yield* withClock(ref.tell(new Increment({ by: 1 })))
      }
      const after = yield* Effect.forEach(movedIds, (id) => where(a, Cart, id))
      after.forEach((answer, i) => {
        const old = before[ids.indexOf(movedIds[i]!)]!
        expect(answer).toEqual({ ...old, count: 2 })
      })
      expect(yield* d.cluster.residentGrains).toBe(0)
      expect(oracle.activations).toBe(ids.length)
      expect(oracle.violations).toEqual([])
    }), 60_000)

  it.scoped("a tell that a redirecting node sends on keeps its sender: the grain's reply to ctx.sender arrives", () =>
    Effect.gen(function*() {
      const oracle = new Oracle()
      const { Cart, nodes, d, ids, before, movedIds } = yield* withJoinedOwner(oracle, "s")
      // From a pinger on every old node: a ping from a node where the grain is not active goes to d (its owner
      // now), which sends it on to the live activation; the grain answers the pinger.
      const pingers = yield* Effect.forEach(nodes, (node) => node.system.spawn(makePinger(node.cluster, Cart), `pinger-${node.id}`))
      for (const pinger of pingers) {
        for (const id of movedIds) yield* withClock(pinger.tell(new PingGrain({ id })))
      }
      const expected = movedIds.map((id) => ({ id, node: before[ids.indexOf(id)]!.node })).sort((x, y) => x.id.localeCompare(y.id))
      for (const pinger of pingers) {
        yield* eventually(Effect.map(pinger.ask(new Pongs()), (pongs) => pongs.length === movedIds.length))
        const pongs = [...yield* pinger.ask(new Pongs())].sort((x, y) => x.id.localeCompare(y.id))
        expect(pongs).toEqual(expected)
      }
      expect(yield* d.cluster.residentGrains).toBe(0)
      expect(oracle.activations).toBe(ids.length)
      expect(oracle.violations).toEqual([])
    }), 60_000)

  it.scoped("a node at its cap of resident grains refuses one more with TooManyGrains; room comes back with passivation", () =>
    Effect.gen(function*() {
      const oracle = new Oracle()
      const store = yield* ClusterStore.makeMemory
      const Cart = makeCart(oracle, "1 second")
      const a = yield* startClusterNode(store, "a", { kinds: [Cart], grains: { maxResident: 2 } })
      yield* closeAll([a])
      yield* advance(6000)
      yield* where(a, Cart, "one")
      yield* where(a, Cart, "two")
      const refused = yield* Effect.flip(where(a, Cart, "three"))
      expect(refused).toMatchObject({ _tag: "TooManyGrains", node: "a", grain: "Cart/three", limit: 2 })
      const ref = yield* a.cluster.grain(Cart, "three")
      expect(yield* withClock(Effect.flip(ref.tell(new Increment({ by: 1 }))))).toMatchObject({ _tag: "TooManyGrains" })
      yield* eventually(Effect.map(a.cluster.residentGrains, (n) => n === 0))
      expect((yield* where(a, Cart, "three")).count).toBe(0)
      const invalid = yield* Effect.exit(startClusterNode(store, "z", { kinds: [Cart], grains: { maxResident: 0 } }))
      expect(Exit.isFailure(invalid) && Cause.pretty(invalid.cause)).toContain("grains.maxResident must be a positive integer")
    }), 60_000)

  it.scoped("many activations over three nodes, one node killed: every grain answers again, never two at a time", () =>
    Effect.gen(function*() {
      const oracle = new Oracle()
      const { Cart, nodes } = yield* threeNodes(oracle)
      const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode]
      const ids = Array.from({ length: 150 }, (_, i) => `m-${i}`)
      const ask = (node: ClusterNode, id: string) =>
        Effect.flatMap(node.cluster.grain(Cart, id), (ref) => ref.ask(new Where()))
      const first = yield* withClock(Effect.forEach(ids, (id, i) => ask(nodes[i % 3]!, id), { concurrency: 50 }))
      expect(new Set(first.map((answer) => answer.node))).toEqual(new Set(["a", "b", "c"]))
      expect(oracle.activations).toBe(ids.length)
      yield* a.faults.set({ hang: true })
      yield* eventually(Effect.map(a.cluster.residentGrains, (n) => n === 0)) // suspended: as good as dead
      // Messages come while a is cut off but not yet declared dead: they wait for the grain's new owner.
      const second = yield* withClock(Effect.forEach(ids, (id, i) => ask(i % 2 === 0 ? b : c, id), { concurrency: 50 }))
      second.forEach((answer, i) => {
        expect(answer.node).not.toBe("a")
        if (first[i]!.node !== "a") expect(answer.fence).toBe(first[i]!.fence)
      })
      expect(oracle.violations).toEqual([])
      yield* realPause()
    }), 120_000)
})
