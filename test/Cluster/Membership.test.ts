/**
 * Membership under `TestClock`: several nodes in one process share a memory
 * store, each through its own `faulty` wrapper (cut one off, hang it, or fail
 * them all), each with its own actor system and event stream.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Option, Queue, Scope, TestClock } from "effect"
import { spawn } from "node:child_process"
import { ActorSystem, EventStream } from "../../src/index.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import * as Discovery from "../../src/Cluster/Discovery.js"
import * as ProcessProbe from "../../src/Cluster/internal/processProbe.js"
import * as Membership from "../../src/Cluster/Membership.js"

type ClusterEvent = EventStream.NodeJoined | EventStream.NodeLeft | EventStream.ClusterSuspended | EventStream.ClusterResumed
const clusterTags = new Set(["NodeJoined", "NodeLeft", "ClusterSuspended", "ClusterResumed"])

interface Node {
  readonly membership: Membership.Service
  readonly faults: ClusterStore.FaultControl
  readonly scope: Scope.CloseableScope
  /** Every cluster event this node published so far, with the virtual time it was seen. */
  readonly events: () => Effect.Effect<ReadonlyArray<ClusterEvent>>
}

const startNode = (shared: ClusterStore.Service, nodeId: string, config?: Partial<Membership.Config>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const [store, faults] = yield* ClusterStore.faulty(shared)
    const system = yield* Scope.extend(ActorSystem.make({ name: nodeId }), scope)
    const queue = yield* Scope.extend(system.subscribe, scope)
    const seen: Array<ClusterEvent> = []
    const context = Context.make(ClusterStore.ClusterStore, store).pipe(
      Context.add(Discovery.Discovery, Discovery.makeStatic([])),
      Context.add(ActorSystem.ActorSystem, system)
    )
    const membership = yield* Scope.extend(
      Effect.provide(Membership.make({ nodeId, address: `${nodeId}:1`, ...config }), context),
      scope
    )
    const events = () =>
      Effect.map(Queue.takeAll(queue), (chunk) => {
        for (const event of chunk) if (clusterTags.has(event._tag)) seen.push(event as ClusterEvent)
        return [...seen]
      })
    return { membership, faults, scope, events } satisfies Node
  })

/** Advances virtual time in small steps, so every fiber runs when it would. */
const advance = (ms: number, step = 100) =>
  Effect.gen(function*() {
    for (let t = 0; t < ms; t += step) yield* TestClock.adjust(Math.min(step, ms - t))
  })

const membership = (events: ReadonlyArray<ClusterEvent>) =>
  events.filter((e) => e._tag === "NodeJoined" || e._tag === "NodeLeft")
    .map((e) => `${e._tag} ${e.nodeId}/${e.epoch}`)

const statusOf = (store: ClusterStore.Service, node: ClusterStore.Incarnation) =>
  Effect.map(store.view(), (view) =>
    Option.getOrThrow(view).members.find((m) => m.nodeId === node.nodeId && m.epoch === node.epoch)?.status)

describe("C4 membership", () => {
  it.effect("config: defaults from CLUSTER.md, and timings that cannot be safe are refused", () =>
    Effect.gen(function*() {
      const resolved = yield* Membership.resolveConfig({ nodeId: "a" })
      expect([resolved.ttl, resolved.heartbeat, resolved.margin, resolved.reapInterval].map(Duration.toMillis))
        .toEqual([5000, 1000, 1000, 500])
      for (
        const bad of [
          { nodeId: "" },
          { nodeId: "a", margin: "5 seconds" },
          { nodeId: "a", heartbeat: "4 seconds" },
          { nodeId: "a", reapInterval: 0 },
          { nodeId: "a", ttl: "-1 second" }
        ] as ReadonlyArray<Membership.Config>
      ) {
        const exit = yield* Effect.exit(Membership.resolveConfig(bad))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(JSON.stringify(exit)).toContain("InvalidArgument")
      }
    }))

  it.scoped("nodes join, stay up while the store answers, and every node tells the same story", () =>
    Effect.gen(function*() {
      const shared = yield* ClusterStore.makeMemory
      const a = yield* startNode(shared, "a")
      const b = yield* startNode(shared, "b")
      yield* advance(20_000)
      expect(yield* a.membership.state.get).toBe("up")
      expect(yield* b.membership.active).toBe(true)
      const view = yield* a.membership.view.get
      expect(view.members.map((m) => [m.nodeId, m.status])).toEqual([["a", "up"], ["b", "up"]])
      const self = yield* a.membership.self.get
      expect(yield* shared.markDead(self)).toBe(false)
      expect(membership(yield* a.events())).toEqual(membership(yield* b.events()))
      expect(membership(yield* a.events())).toEqual([`NodeJoined a/${self.epoch}`, `NodeJoined b/${(yield* b.membership.self.get).epoch}`])
      // 20 s at one renewal per second: about 20 writes, no more.
      const calls = yield* a.faults.calls
      expect(calls.renew).toBeGreaterThanOrEqual(19)
      expect(calls.renew).toBeLessThanOrEqual(21)
    }))

  it.scoped("a node cut off from the store suspends strictly before another can mark it dead, then rejoins", () =>
    Effect.gen(function*() {
      const shared = yield* ClusterStore.makeMemory
      const a = yield* startNode(shared, "a")
      const b = yield* startNode(shared, "b")
      yield* advance(10_000)
      const old = yield* a.membership.self.get
      yield* a.faults.set({ fail: true })
      let suspendedAt: number | undefined
      let deadAt: number | undefined
      for (let t = 0; t < 15_000 && deadAt === undefined; t += 10) {
        yield* TestClock.adjust(10)
        const now = yield* TestClock.currentTimeMillis
        if (suspendedAt === undefined && !(yield* a.membership.active)) suspendedAt = now
        if ((yield* statusOf(shared, old)) === "dead") deadAt = now
      }
      expect(suspendedAt).toBeDefined()
      expect(deadAt).toBeDefined()
      // Suspended at (last renewal sent) + ttl − margin: at most 4 s after the cut; dead only after the lease expired.
      expect(suspendedAt!).toBeLessThanOrEqual(10_000 + 4_000)
      expect(deadAt! - suspendedAt!).toBeGreaterThanOrEqual(1_000)
      expect(yield* a.membership.state.get).toBe("suspended")
      yield* a.faults.set({})
      yield* advance(2_000)
      const fresh = yield* a.membership.self.get
      expect(fresh.epoch).toBeGreaterThan(old.epoch)
      expect(yield* a.membership.state.get).toBe("up")
      const events = yield* a.events()
      expect(events.filter((e) => e._tag === "ClusterSuspended" || e._tag === "ClusterResumed")).toEqual([
        new EventStream.ClusterSuspended({ nodeId: "a", epoch: old.epoch }),
        new EventStream.ClusterResumed({ nodeId: "a", epoch: fresh.epoch, rejoined: true })
      ])
      yield* advance(1_000)
      expect(membership(yield* a.events()).slice(-2)).toEqual([`NodeLeft a/${old.epoch}`, `NodeJoined a/${fresh.epoch}`])
      expect(membership(yield* a.events())).toEqual(membership(yield* b.events()))
      expect((yield* b.events()).find((e) => e._tag === "NodeLeft")).toMatchObject({ reason: "dead" })
    }))

  it.scoped("a hung store call still suspends on time", () =>
    Effect.gen(function*() {
      const shared = yield* ClusterStore.makeMemory
      const a = yield* startNode(shared, "a")
      yield* advance(3_000)
      yield* a.faults.set({ hang: true })
      // The last renewal that landed was sent at 3 s (or just before): suspended by 3 + 5 − 1 = 7 s.
      yield* advance(3_900)
      expect(yield* a.membership.active).toBe(true)
      yield* advance(100)
      expect(yield* a.membership.active).toBe(false)
      expect(yield* a.membership.state.get).toBe("suspended")
      // Its lease is still valid in the store: nobody may declare it dead yet.
      expect(yield* shared.markDead(yield* a.membership.self.get)).toBe(false)
      yield* a.faults.set({})
      yield* advance(1_000)
      expect(yield* a.membership.state.get).toBe("up")
      expect((yield* a.events()).at(-1)).toMatchObject({ _tag: "ClusterResumed", rejoined: false })
    }))

  it.scoped("a store outage for everyone longer than the lease moves nothing", () =>
    Effect.gen(function*() {
      const shared = yield* ClusterStore.makeMemory
      // Started apart, so their heartbeats and reapers tick at different instants.
      const nodes: Array<Node> = []
      for (const id of ["a", "b", "c"]) {
        nodes.push(yield* startNode(shared, id))
        yield* advance(300, 10)
      }
      yield* advance(10_000)
      const epochs = yield* Effect.forEach(nodes, (node) => node.membership.self.get)
      yield* Effect.forEach(nodes, (node) => node.faults.set({ fail: true }))
      yield* advance(12_000)
      for (const node of nodes) expect(yield* node.membership.state.get).toBe("suspended")
      yield* Effect.forEach(nodes, (node) => node.faults.set({}))
      yield* advance(15_000)
      for (const [i, node] of nodes.entries()) {
        expect(yield* node.membership.state.get).toBe("up")
        expect(yield* node.membership.self.get).toEqual(epochs[i])
        expect((yield* node.events()).some((e) => e._tag === "NodeLeft")).toBe(false)
      }
      const view = Option.getOrThrow(yield* shared.view())
      expect(view.members.map((m) => m.status)).toEqual(["up", "up", "up"])
    }))

  it.scoped("NodeJoined and NodeLeft reach every node in the same order", () =>
    Effect.gen(function*() {
      const shared = yield* ClusterStore.makeMemory
      const a = yield* startNode(shared, "a")
      const b = yield* startNode(shared, "b")
      const c = yield* startNode(shared, "c")
      yield* advance(6_000)
      const d = yield* startNode(shared, "d")
      yield* advance(300)
      yield* b.faults.set({ fail: true }) // b is cut off: declared dead, then rejoins
      yield* advance(200)
      yield* Scope.close(d.scope, Exit.void) // d leaves gracefully meanwhile
      yield* advance(9_000)
      yield* b.faults.set({})
      yield* advance(3_000)
      const e = yield* startNode(shared, "e")
      yield* advance(2_000)
      const stories = yield* Effect.forEach([a, b, c], (node) => Effect.map(node.events(), membership))
      expect(stories[0]!.filter((s) => s.startsWith("NodeLeft")).length).toBe(2)
      expect(stories[1]).toEqual(stories[0])
      expect(stories[2]).toEqual(stories[0])
      // e joined last: it tells the part of the story since its join, and the members alive then.
      const tail = membership(yield* e.events())
      expect(tail.at(-1)).toBe(stories[0]!.at(-1))
      expect(new Set(tail)).toEqual(
        new Set((yield* e.membership.view.get).members.filter((m) => m.status === "up").map((m) =>
          `NodeJoined ${m.nodeId}/${m.epoch}`
        ))
      )
    }))

  it.scoped("leave: the store records left, the others see NodeLeft(left)", () =>
    Effect.gen(function*() {
      const shared = yield* ClusterStore.makeMemory
      const a = yield* startNode(shared, "a")
      const b = yield* startNode(shared, "b")
      yield* advance(1_000)
      const self = yield* b.membership.self.get
      expect(yield* b.membership.leaving).toBe(true)
      expect(yield* b.membership.state.get).toBe("leaving")
      expect(yield* b.membership.active).toBe(true)
      yield* Scope.close(b.scope, Exit.void)
      expect(yield* statusOf(shared, self)).toBe("left")
      yield* advance(1_000)
      expect((yield* a.events()).at(-1)).toEqual(
        new EventStream.NodeLeft({ nodeId: "b", epoch: self.epoch, reason: "left", version: 4 })
      )
    }))

  it.scoped("same host: a node whose process is gone is declared dead at once, not after its lease", () =>
    Effect.gen(function*() {
      const shared = yield* ClusterStore.makeMemory
      const a = yield* startNode(shared, "a")
      const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })
      const pid = child.pid!
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      const host = ProcessProbe.hostId()!
      const ghost = yield* shared.join({
        nodeId: "ghost",
        address: "",
        kinds: [],
        roles: [],
        process: { hostId: host, pid, pidStart: ProcessProbe.startTime(pid)! },
        ttlMillis: 60_000
      })
      yield* advance(2_000)
      expect(yield* statusOf(shared, ghost)).toBe("up")
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          child.once("exit", () => resolve())
          child.kill("SIGKILL")
        })
      )
      yield* advance(500)
      expect(yield* statusOf(shared, ghost)).toBe("dead")
      yield* advance(500)
      expect((yield* a.events()).at(-1)).toMatchObject({ _tag: "NodeLeft", nodeId: "ghost", reason: "dead" })
    }))

  it.scoped("reapNow: a lost connection makes the reaper look at once, without waiting for its tick", () =>
    Effect.gen(function*() {
      const shared = yield* ClusterStore.makeMemory
      // A reaper tick far away: only reapNow can find the ghost in this test.
      const a = yield* startNode(shared, "a", { reapInterval: "1 hour" })
      // Its first look happens now, before the ghost exists; the next would be in an hour.
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })
      const pid = child.pid!
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      const ghost = yield* shared.join({
        nodeId: "ghost",
        address: "",
        kinds: [],
        roles: [],
        process: { hostId: ProcessProbe.hostId()!, pid, pidStart: ProcessProbe.startTime(pid)! },
        ttlMillis: 60_000
      })
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          child.once("exit", () => resolve())
          child.kill("SIGKILL")
        })
      )
      yield* TestClock.adjust(1)
      expect(yield* statusOf(shared, ghost)).toBe("up")
      yield* a.membership.reapNow
      let status = yield* statusOf(shared, ghost)
      for (let i = 0; i < 100 && status !== "dead"; i++) {
        yield* Effect.yieldNow()
        status = yield* statusOf(shared, ghost)
      }
      expect(status).toBe("dead")
    }))
})

describe("same-host proof", () => {
  it.scopedLive("a zombie (exited, not yet waited for by its parent) is gone", () =>
    Effect.gen(function*() {
      // `sleep 0.2` runs in the background of a shell that then becomes `sleep 30`, which never waits for it.
      const parent = spawn("sh", ["-c", "sleep 0.2 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] })
      yield* Effect.addFinalizer(() => Effect.sync(() => parent.kill("SIGKILL")))
      const pid = yield* Effect.promise(() =>
        new Promise<number>((resolve) => parent.stdout!.once("data", (chunk: Buffer) => resolve(Number(String(chunk).trim()))))
      )
      const record = { hostId: ProcessProbe.hostId()!, pid, pidStart: ProcessProbe.startTime(pid)! }
      expect(ProcessProbe.isGone(record, record.hostId)).toBe(false)
      yield* Effect.sleep("600 millis")
      // Still in the process table, as a zombie.
      expect(ProcessProbe.startTime(pid)).toBe(record.pidStart)
      expect(ProcessProbe.isGone(record, record.hostId)).toBe(true)
      expect(ProcessProbe.isGone(record, "another host")).toBe(false)
    }))
})


describe("C4 membership start", () => {
  it.scoped("a store that does not answer fails the start after ttl with StoreUnavailable", () =>
    Effect.gen(function*() {
      const [store, faults] = yield* ClusterStore.faulty(yield* ClusterStore.makeMemory)
      yield* faults.set({ hang: true })
      const system = yield* ActorSystem.make({ name: "a" })
      const context = Context.make(ClusterStore.ClusterStore, store).pipe(
        Context.add(Discovery.Discovery, Discovery.makeStatic([])),
        Context.add(ActorSystem.ActorSystem, system)
      )
      const fiber = yield* Effect.fork(Effect.provide(Membership.make({ nodeId: "a" }), context))
      yield* TestClock.adjust("5 seconds")
      const exit = yield* Fiber.await(fiber)
      expect(exit._tag).toBe("Failure")
      expect(JSON.stringify(exit)).toContain("StoreUnavailable")
    }))
})
