import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, TestClock } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"

const join = (store: ClusterStore.Service, nodeId: string) =>
  store.join({ nodeId, address: "", kinds: [], roles: [], ttlMillis: 5000 })

describe("ClusterStore.faulty", () => {
  it.effect("passes calls through while healed, and counts those that reached the store", () =>
    Effect.gen(function*() {
      const [store, faults] = yield* ClusterStore.faulty(yield* ClusterStore.makeMemory)
      const a = yield* join(store, "a")
      expect(yield* store.renew(a, 5000)).toBe(true)
      expect(yield* faults.calls).toEqual({ join: 1, renew: 1 })
    }))

  it.effect("latency waits on the Clock before the call", () =>
    Effect.gen(function*() {
      const inner = yield* ClusterStore.makeMemory
      const [store, faults] = yield* ClusterStore.faulty(inner)
      yield* faults.set({ latency: "2 seconds" })
      const fiber = yield* Effect.fork(join(store, "a"))
      yield* TestClock.adjust("1999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      expect(Option.getOrThrow(yield* inner.view()).members).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(fiber)).nodeId).toBe("a")
    }))

  it.effect("fail refuses without reaching the store; loseReply reaches it and then fails", () =>
    Effect.gen(function*() {
      const inner = yield* ClusterStore.makeMemory
      const [store, faults] = yield* ClusterStore.faulty(inner)
      yield* faults.set({ fail: true })
      const failed = yield* Effect.exit(join(store, "a"))
      expect(failed).toEqual(Exit.fail(new ClusterStore.StoreUnavailable({ operation: "join", reason: "injected fault" })))
      expect(Option.getOrThrow(yield* inner.view()).members.length).toBe(0)
      yield* faults.set({ loseReply: true })
      expect(Exit.isFailure(yield* Effect.exit(join(store, "a")))).toBe(true)
      expect(Option.getOrThrow(yield* inner.view()).members.length).toBe(1)
    }))

  it.effect("hang never answers (a timeout gets out), and faults can target some operations only", () =>
    Effect.gen(function*() {
      const [store, faults] = yield* ClusterStore.faulty(yield* ClusterStore.makeMemory)
      const a = yield* join(store, "a")
      yield* faults.set({ hang: true, operations: ["renew"] })
      const fiber = yield* Effect.fork(Effect.timeout(store.renew(a, 5000), "1 second"))
      yield* TestClock.adjust("1 second")
      expect(Exit.isFailure(yield* Fiber.await(fiber))).toBe(true)
      expect(yield* store.markDead(a)).toBe(false)
      yield* faults.set({})
      expect(yield* store.renew(a, 5000)).toBe(true)
    }))
})
