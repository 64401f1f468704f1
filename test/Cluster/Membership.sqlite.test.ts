/**
 * Membership on the SQLite store, on real time and the database's clock
 * (short leases): a node cut off from the store suspends, is declared dead by
 * the other node once its lease expired, and rejoins under a new epoch.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Option, Queue } from "effect"
import { ActorSystem, type EventStream } from "../../src/index.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import * as Discovery from "../../src/Cluster/Discovery.js"
import * as Membership from "../../src/Cluster/Membership.js"
import { sqliteStore } from "./stores.js"

const timings = { ttl: 1500, heartbeat: 200, margin: 500, reapInterval: 100 } as const

const startNode = (shared: ClusterStore.Service, nodeId: string) =>
  Effect.gen(function*() {
    const [store, faults] = yield* ClusterStore.faulty(shared)
    const system = yield* ActorSystem.make({ name: nodeId })
    const events = yield* system.subscribe
    const context = Context.make(ClusterStore.ClusterStore, store).pipe(
      Context.add(Discovery.Discovery, Discovery.makeStatic([])),
      Context.add(ActorSystem.ActorSystem, system)
    )
    const membership = yield* Effect.provide(Membership.make({ nodeId, ...timings }), context)
    return { membership, faults, events }
  })

describe("C4 membership on SQLite (real time, database clock)", () => {
  it.scopedLive("cut off: suspended before its lease expires, declared dead after, rejoins with a new epoch", () =>
    Effect.gen(function*() {
      const shared = yield* sqliteStore
      const a = yield* startNode(shared, "a")
      const b = yield* startNode(shared, "b")
      yield* Effect.sleep("600 millis")
      const old = yield* a.membership.self.get
      yield* a.faults.set({ fail: true })
      const cut = Date.now()
      // Wait for a to suspend, and check that its lease is then still valid in the store.
      while (yield* a.membership.active) yield* Effect.sleep("10 millis")
      const suspendedAfter = Date.now() - cut
      const row = Option.getOrThrow(yield* shared.view()).members.find((m) => m.epoch === old.epoch)!
      expect(row.status).toBe("up")
      expect(row.expiresAt).toBeGreaterThan(yield* shared.now)
      expect(suspendedAfter).toBeLessThan(1500)
      // b declares it dead once the lease expired.
      while ((Option.getOrThrow(yield* shared.view()).members.find((m) => m.epoch === old.epoch)!).status !== "dead") {
        yield* Effect.sleep("20 millis")
      }
      yield* a.faults.set({})
      while ((yield* a.membership.self.get).epoch === old.epoch) yield* Effect.sleep("20 millis")
      expect(yield* a.membership.state.get).toBe("up")
      yield* Effect.sleep("300 millis")
      const story = (events: ReadonlyArray<EventStream.Event>) =>
        events.filter((e) => e._tag === "NodeJoined" || e._tag === "NodeLeft").map((e) =>
          `${e._tag} ${(e as EventStream.NodeJoined).nodeId}/${(e as EventStream.NodeJoined).epoch}`
        )
      const seenByA = story(yield* Queue.takeAll(a.events).pipe(Effect.map((c) => [...c])))
      const seenByB = story(yield* Queue.takeAll(b.events).pipe(Effect.map((c) => [...c])))
      expect(seenByB).toEqual(seenByA)
      expect(seenByA).toContain(`NodeLeft a/${old.epoch}`)
      expect(seenByA.at(-1)).toBe(`NodeJoined a/${(yield* a.membership.self.get).epoch}`)
    }), 30_000)
})
