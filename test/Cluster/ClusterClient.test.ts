/**
 * The cluster client (issue 11 item 4): a process outside the cluster (no
 * actor system, no store) that talks to nodes over the remoting wire.
 * Three cluster nodes in one process over one memory store, TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Actor } from "../../src/index.js"
import * as ClusterClient from "../../src/Cluster/ClusterClient.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { parseNodeAddress } from "../../src/Cluster/internal/directory.js"
import { GetCount, Increment } from "../helpers.js"
import { advance, type ClusterNode, startClusterNode, withClock } from "./nodes.js"
import { Counter } from "./support.js"

const Tally = Actor.make("Tally", {
  protocol: [Increment, GetCount],
  initialState: () => 0,
  receive: { Increment: (msg, ctx) => ctx.update((n) => n + msg.by), GetCount: (_, ctx) => ctx.get }
})

const cluster = Effect.gen(function*() {
  const store = yield* ClusterStore.makeMemory
  const nodes: Array<ClusterNode> = []
  for (const id of ["a", "b", "c"]) nodes.push(yield* startClusterNode(store, id, { kinds: [Counter, Tally] }))
  yield* advance(6000)
  const ownerOf = (name: string) => Effect.map(store.lookup([name]), (rows) => rows.get(name)?.owner.nodeId)
  const [a] = nodes as [ClusterNode]
  const self = (yield* a.cluster.nodes).find((m) => m.nodeId === "a")!
  const seed = parseNodeAddress(self.address)!
  return { nodes, ownerOf, seed: { host: seed.host, port: seed.port } }
})

describe("I9 cluster client", () => {
  it.scoped("members, kinds, spawn, balancers, tell/ask/whereis/stop/respawn by name, grains", () =>
    Effect.gen(function*() {
      const { nodes, ownerOf, seed } = yield* cluster
      yield* Effect.addFinalizer(() => Effect.forEach([...nodes].reverse(), (n) => n.close, { discard: true }))
      const client = yield* ClusterClient.make({ nodes: [seed] })
      expect((yield* client.members).map((m) => m.nodeId).sort()).toEqual(["a", "b", "c"])
      expect(yield* client.kinds).toEqual(["Counter", "Tally"])
      yield* withClock(client.spawn(Counter, "counter", { placement: { node: "c" } }))
      expect(yield* ownerOf("counter")).toBe("c")
      yield* withClock(client.tell("counter", new Increment({ by: 2 })))
      expect(yield* withClock(client.ask("counter", new GetCount()))).toBe(2)
      const found = yield* withClock(client.whereis("counter"))
      expect(Option.map(found, (pid) => pid.address.system)).toEqual(Option.some("c"))
      expect(yield* withClock(client.whereis("nobody"))).toEqual(Option.none())
      yield* withClock(client.respawn("counter"))
      expect(yield* withClock(client.ask("counter", new GetCount()))).toBe(0)
      // Balancers on the client side.
      for (let i = 0; i < 3; i++) yield* withClock(client.spawnWithBalancer("Counter", `rr-${i}`, "round-robin"))
      expect((yield* Effect.forEach([0, 1, 2], (i) => ownerOf(`rr-${i}`))).sort()).toEqual(["a", "b", "c"])
      yield* withClock(client.spawnWithBalancer("Counter", "random-1", "random"))
      expect(["a", "b", "c"]).toContain(yield* ownerOf("random-1"))
      for (let i = 0; i < 4; i++) yield* nodes[0]!.cluster.spawn(Counter, `heavy-a-${i}`)
      for (let i = 0; i < 4; i++) yield* nodes[1]!.cluster.spawn(Counter, `heavy-b-${i}`)
      yield* advance(1500) // a load refresh
      yield* withClock(client.spawnWithBalancer("Counter", "light", "least-load"))
      expect(yield* ownerOf("light")).toBe("c")
      const none = yield* Effect.flip(client.spawnWithBalancer("Nope", "x", "random"))
      expect(none).toMatchObject({ _tag: "PlacementFailed" })
      // Grains from outside: routed to the owner, which activates them.
      const tally = yield* client.grain(Tally, "t-1")
      yield* withClock(tally.tell(new Increment({ by: 3 })))
      expect(yield* withClock(tally.ask(new GetCount()))).toBe(3)
      const fromNode = yield* nodes[1]!.cluster.grain(Tally, "t-1")
      expect(yield* withClock(fromNode.ask(new GetCount()))).toBe(3)
      yield* withClock(client.stop("counter"))
      expect(yield* withClock(Effect.flip(client.ask("counter", new GetCount())))).toMatchObject({ _tag: "ActorNotFound" })
    }), 90_000)

  it.scoped("the client survives the loss of the node it first talked to", () =>
    Effect.gen(function*() {
      const { nodes, ownerOf, seed } = yield* cluster
      const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode]
      yield* Effect.addFinalizer(() => Effect.forEach([c, b], (n) => n.close, { discard: true }))
      const client = yield* ClusterClient.make({ nodes: [seed] })
      yield* client.members
      const names = ["w-0", "w-1", "w-2", "w-3", "w-4", "w-5"]
      for (const name of names) yield* withClock(client.spawnWithBalancer("Counter", name, "round-robin"))
      const onA = [] as Array<string>
      for (const name of names) if ((yield* ownerOf(name)) === "a") onA.push(name)
      expect(onA.length).toBe(2)
      const grains = ["g-0", "g-1", "g-2", "g-3", "g-4", "g-5", "g-6", "g-7"]
      for (const id of grains) yield* withClock(Effect.flatMap(client.grain(Tally, id), (ref) => ref.tell(new Increment({ by: 1 }))))
      yield* a.close // a leaves: its names go to b and c
      expect((yield* withClock(client.members)).map((m) => m.nodeId).sort()).toEqual(["b", "c"])
      for (const name of names) {
        yield* withClock(client.tell(name, new Increment({ by: 1 })))
        expect(yield* withClock(client.ask(name, new GetCount()))).toBeGreaterThanOrEqual(1)
        expect(["b", "c"]).toContain(yield* ownerOf(name))
      }
      for (const id of grains) {
        const ref = yield* client.grain(Tally, id)
        expect(yield* withClock(ref.ask(new GetCount()))).toBeGreaterThanOrEqual(0)
      }
      yield* withClock(client.spawn("Counter", "after"))
      expect(["b", "c"]).toContain(yield* ownerOf("after"))
    }), 90_000)
})
