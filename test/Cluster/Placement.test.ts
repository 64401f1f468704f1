/**
 * Placement of spawns by kind (issue 11 item 2): round-robin, random,
 * local, least-load, a named node; roles of nodes, of kinds and of spawns;
 * typed refusals. Three cluster nodes in one process over one memory store.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Actor } from "../../src/index.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { GetCount, Increment } from "../helpers.js"
import { advance, type ClusterNode, startClusterNode, withClock } from "./nodes.js"
import { Counter } from "./support.js"

const Render = Actor.make("Render", {
  protocol: [Increment, GetCount],
  initialState: () => 0,
  passivateAfter: "never",
  receive: { Increment: (msg, ctx) => ctx.update((n) => n + msg.by), GetCount: (_, ctx) => ctx.get }
})

const cluster = Effect.gen(function*() {
  const store = yield* ClusterStore.makeMemory
  const kindRoles = { Render: "gpu" }
  const a = yield* startClusterNode(store, "a", { kinds: [Counter, Render], roles: ["gpu"], kindRoles })
  const b = yield* startClusterNode(store, "b", { kinds: [Counter, Render], kindRoles })
  const c = yield* startClusterNode(store, "c", { kinds: [Counter], kindRoles })
  yield* Effect.addFinalizer(() => Effect.forEach([c, b, a], (n) => n.close, { discard: true }))
  yield* advance(6000)
  const ownerOf = (name: string) => Effect.map(store.lookup([name]), (rows) => rows.get(name)?.owner.nodeId)
  return { a, b, c, ownerOf, store }
})

const spawnAll = (node: ClusterNode, prefix: string, n: number, placement: "round-robin" | "random") =>
  withClock(Effect.forEach(
    Array.from({ length: n }, (_, i) => `${prefix}-${i}`),
    (name) => node.cluster.spawnOn("Counter", name, { placement }),
    { discard: true }
  ))

const histogram = (owners: ReadonlyArray<string | undefined>) => {
  const counts: Record<string, number> = {}
  for (const owner of owners) counts[owner ?? "none"] = (counts[owner ?? "none"] ?? 0) + 1
  return counts
}

describe("I8 placement", () => {
  it.scoped("round-robin walks every member that runs the kind, from any node", () =>
    Effect.gen(function*() {
      const { a, b, ownerOf } = yield* cluster
      yield* spawnAll(a, "rr-a", 6, "round-robin")
      yield* spawnAll(b, "rr-b", 6, "round-robin")
      const owners = yield* Effect.forEach([...Array(6).keys()].flatMap((i) => [`rr-a-${i}`, `rr-b-${i}`]), ownerOf)
      expect(histogram(owners)).toEqual({ a: 4, b: 4, c: 4 })
      // The actors answer wherever they were placed.
      expect(yield* withClock(a.cluster.sendSync("rr-b-0", new GetCount()))).toBe(0)
    }), 60_000)

  it.scoped("random draws among the members that run the kind", () =>
    Effect.gen(function*() {
      const { a, ownerOf } = yield* cluster
      yield* spawnAll(a, "rnd", 30, "random")
      const owners = yield* Effect.forEach([...Array(30).keys()].map((i) => `rnd-${i}`), ownerOf)
      const counts = histogram(owners)
      expect(Object.keys(counts).every((node) => ["a", "b", "c"].includes(node))).toBe(true)
      expect(Object.keys(counts).length).toBeGreaterThan(1)
    }), 60_000)

  it.scoped("local and a named node; a node that is not a live member is PlacementFailed", () =>
    Effect.gen(function*() {
      const { b, c, ownerOf, store } = yield* cluster
      yield* withClock(c.cluster.spawnOn("Counter", "here", { placement: "local" }))
      expect(yield* ownerOf("here")).toBe("c")
      yield* withClock(c.cluster.spawnOn(Counter, "there", { placement: { node: "b" }, mailboxCapacity: 10 }))
      expect(yield* ownerOf("there")).toBe("b")
      // The spawn options travel with the name to the node that runs it.
      const row = (yield* store.lookup(["there"])).get("there")
      expect(JSON.parse(new TextDecoder().decode(row?.args))).toMatchObject({ mailboxCapacity: 10 })
      const missing = yield* Effect.flip(b.cluster.spawnOn("Counter", "nowhere", { placement: { node: "z" } }))
      expect(missing).toMatchObject({ _tag: "PlacementFailed", kind: "Counter", actorName: "nowhere", placement: "node:z" })
      expect(missing.message).toContain("node z is not a live member")
      // c does not run Render: local placement of it there is refused.
      const notHere = yield* Effect.flip(c.cluster.spawnOn("Render", "r", { placement: "local", role: "none" }))
      expect(notHere).toMatchObject({ _tag: "PlacementFailed" })
    }), 60_000)

  it.scoped("least-load picks the member running the fewest actors", () =>
    Effect.gen(function*() {
      const { a, b, c, ownerOf } = yield* cluster
      for (let i = 0; i < 5; i++) yield* a.cluster.spawn(Counter, `load-a-${i}`)
      for (let i = 0; i < 3; i++) yield* c.cluster.spawn(Counter, `load-c-${i}`)
      yield* withClock(a.cluster.spawnOn("Counter", "light-1", { placement: "least-load" }))
      expect(yield* ownerOf("light-1")).toBe("b")
      for (let i = 0; i < 4; i++) yield* b.cluster.spawn(Counter, `load-b-${i}`)
      yield* withClock(a.cluster.spawnOn("Counter", "light-2", { placement: "least-load" }))
      expect(yield* ownerOf("light-2")).toBe("c")
    }), 60_000)

  it.scoped("roles: a kind's role and a spawn's role restrict the members; none fits is PlacementFailed", () =>
    Effect.gen(function*() {
      const { b, c, ownerOf } = yield* cluster
      // Render needs the gpu role (kindRoles): only a has it, whatever the strategy.
      for (const placement of ["round-robin", "random", "least-load"] as const) {
        yield* withClock(c.cluster.spawnOn("Render", `render-${placement}`, { placement }))
        expect(yield* ownerOf(`render-${placement}`)).toBe("a")
      }
      yield* withClock(b.cluster.spawnOn("Counter", "gpu-counter", { placement: "round-robin", role: "gpu" }))
      expect(yield* ownerOf("gpu-counter")).toBe("a")
      const local = yield* Effect.flip(b.cluster.spawnOn("Render", "render-b", { placement: "local" }))
      expect(local.message).toContain("this node does not run kind Render with role gpu")
      const none = yield* Effect.flip(b.cluster.spawnOn("Counter", "tpu", { placement: "random", role: "tpu" }))
      expect(none).toMatchObject({ _tag: "PlacementFailed", reason: "no live member runs kind Counter with role tpu" })
      const unknown = yield* Effect.flip(b.cluster.spawnOn("Nope", "x", { placement: "round-robin" }))
      expect(unknown).toMatchObject({ _tag: "PlacementFailed", reason: "no live member runs kind Nope" })
    }), 60_000)
})
