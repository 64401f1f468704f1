/**
 * The dashboard of a three-node cluster (one process, real time, memory
 * store): every node's report gathered over the remoting wire, operations
 * routed to the node that runs the actor, drain, and a node that does not
 * answer shown with what the store's directory gives it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ClusterStore } from "../../src/index.js"
import type { Snapshot } from "../../src/Dashboard/Dashboard.js"
import { Counter, Increment } from "../helpers.js"
import { eventually, startNode } from "./cluster.js"

const fetchJson = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, body: await response.json() as any }
  })

const post = (url: string, body?: unknown) =>
  fetchJson(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-effect-actors": "1" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

const actorsOn = (snapshot: Snapshot, nodeId: string) =>
  (snapshot.nodes.find((n) => n.nodeId === nodeId)?.report?.actors ?? []).map((a) => a.name).sort()

describe("Dashboard over a cluster", () => {
  it.live("gathers every node's actors, routes tell/ask/stop to their node, drains a node", () =>
    Effect.gen(function*() {
      const store = yield* ClusterStore.makeMemory
      const a = yield* startNode(store, "a", [Counter])
      const b = yield* startNode(store, "b", [Counter])
      const c = yield* startNode(store, "c", [Counter])
      yield* Effect.addFinalizer(() => Effect.all([a.close, b.close, c.close], { concurrency: "unbounded" }))
      yield* a.cluster.spawn(Counter, "on-a")
      yield* b.cluster.spawn(Counter, "on-b")
      yield* c.cluster.spawn(Counter, "on-c1")
      yield* c.cluster.spawn(Counter, "on-c2")

      const snapshot = yield* eventually(a.dashboard.snapshot, (s) =>
        s.nodes.length === 3 && actorsOn(s, "c").length === 2 && actorsOn(s, "b").length === 1)
      expect(snapshot.cluster).toBe(true)
      expect(snapshot.nodes.map((n) => [n.nodeId, n.status, n.self, n.reachable])).toEqual([
        ["a", "up", true, true],
        ["b", "up", false, true],
        ["c", "up", false, true]
      ])
      const nodeC = snapshot.nodes[2]!
      expect(nodeC.epoch).toBeGreaterThan(0)
      expect(nodeC.address).toMatch(/^c@127\.0\.0\.1:\d+$/)
      expect(nodeC.leaseAgeMs).toBeGreaterThanOrEqual(0)
      expect(nodeC.leaseAgeMs).toBeLessThan(2000)
      expect(nodeC.report!.actors[0]).toMatchObject({ kind: "Counter" })
      expect(nodeC.report!.actors[0]!.fence).toBeGreaterThan(0)

      // A grain is listed with the grains of the node it is active on, not among the actors.
      const cart = yield* a.cluster.grain(Counter, "cart 1")
      yield* cart.tell(new Increment({ by: 1 }))
      const withGrain = yield* eventually(a.dashboard.snapshot, (s) => s.nodes.some((n) => (n.report?.grains.length ?? 0) > 0))
      const host = withGrain.nodes.find((n) => (n.report?.grains.length ?? 0) > 0)!
      expect(host.report!.grains).toMatchObject([{ kind: "Counter", key: "cart 1" }])
      expect(host.report!.grains[0]!.address).toContain("/~Counter~~cart~201")
      expect(host.report!.grains[0]!.deactivatesAt).toBeGreaterThan(host.report!.at)
      expect(withGrain.nodes.flatMap((n) => n.report?.actors ?? []).some((actor) => actor.name.startsWith("~"))).toBe(false)

      // Through a's endpoint, to an actor on c: decoded with Counter's protocol on c.
      const url = a.dashboard.url
      expect((yield* post(`${url}api/actors/on-c1/tell`, { _tag: "Increment", by: 5 })).status).toBe(202)
      expect(yield* post(`${url}api/actors/on-c1/ask`, { _tag: "GetCount" })).toEqual({ status: 200, body: { reply: 5 } })
      const wrong = yield* post(`${url}api/actors/on-c1/ask`, { _tag: "Divide", dividend: "x" })
      expect(wrong.status).toBe(400)
      expect(wrong.body.message).toContain("Counter's protocol")
      const found = yield* fetchJson(`${url}api/actors/on-b`)
      expect(found.body).toMatchObject({ name: "on-b", local: false })
      expect(found.body.address).toContain("effect-actors://b@127.0.0.1")

      // Stop an actor on b from a: its name is released.
      expect((yield* post(`${url}api/actors/on-b/stop`)).status).toBe(200)
      yield* eventually(a.dashboard.snapshot, (s) => actorsOn(s, "b").length === 0)
      expect((yield* fetchJson(`${url}api/actors/on-b`)).status).toBe(404)

      // A node whose reporter does not answer: shown unreachable, with the names the directory gives it.
      yield* b.cluster.spawn(Counter, "on-b2")
      yield* b.system.kill("ea.dashboard")
      const silent = yield* eventually(a.dashboard.snapshot, (s) => s.nodes.find((n) => n.nodeId === "b")?.reachable === false)
      const nodeB = silent.nodes.find((n) => n.nodeId === "b")!
      expect(nodeB.report).toBeNull()
      expect(nodeB.error).not.toBeNull()
      expect(nodeB.directory.map((d) => [d.name, d.kind])).toEqual([["on-b2", "Counter"]])

      // Drain c from a: c leaves, its actors move to a or b.
      expect(yield* post(`${url}api/nodes/c/drain`)).toEqual({ status: 202, body: { node: "c", draining: true } })
      const after = yield* eventually(a.dashboard.snapshot, (s) =>
        s.nodes.every((n) => n.nodeId !== "c") &&
        [...actorsOn(s, "a"), ...s.nodes.find((n) => n.nodeId === "b")!.directory.map((d) => d.name)]
          .filter((name) => name.startsWith("on-c")).length === 2)
      expect(after.nodes.map((n) => n.nodeId)).toEqual(["a", "b"])
      expect((yield* post(`${url}api/nodes/zz/drain`)).status).toBe(404)
    }).pipe(Effect.scoped), 60_000)
})
