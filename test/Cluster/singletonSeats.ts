/**
 * Several nodes over one in-memory store, in one process, under TestClock:
 * each node joins, renews its lease every second and reaps expired peers
 * (what Membership does for real), and offers a `Seat` to singletons and
 * cluster schedules. `crash` cuts a node off as kill -9 would: its store
 * calls fail, so it neither renews nor gives anything back.
 */
import { Effect, Exit, Fiber, Option, Ref, Scope } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import type { Seat } from "../../src/Cluster/internal/singletonHold.js"

export const ttlMillis = 5000

export interface SeatNode {
  readonly id: string
  readonly seat: Seat
  readonly self: Ref.Ref<Option.Option<ClusterStore.Incarnation>>
  readonly faults: ClusterStore.FaultControl
  readonly scope: Scope.CloseableScope
  /** kill -9: the node's store calls fail from now on, and its fibers stop without cleaning up. */
  readonly crash: Effect.Effect<void>
  /** Graceful leave: `leaving` (so others may take over), what holds rows gives them back, `left`. */
  readonly stop: Effect.Effect<void>
}

/** Joins a node with these kinds to the shared store. */
export const startSeat = (
  shared: ClusterStore.Service,
  id: string,
  kinds: ReadonlyArray<string> = []
): Effect.Effect<SeatNode> =>
  Effect.gen(function*() {
    const [store, faults] = yield* ClusterStore.faulty(shared)
    const scope = yield* Scope.make()
    const lease = yield* Effect.orDie(store.join({ nodeId: id, address: "", kinds, roles: [], ttlMillis }))
    const self = yield* Ref.make(Option.some<ClusterStore.Incarnation>({ nodeId: lease.nodeId, epoch: lease.epoch }))
    const members = Effect.map(
      Effect.orElseSucceed(store.view(), () => Option.none<ClusterStore.View>()),
      (view) => Option.isSome(view) ? view.value.members : []
    )
    const heartbeat = Effect.gen(function*() {
      const me = yield* self
      if (Option.isNone(me)) return
      const renewed = yield* Effect.orElseSucceed(store.renew(me.value, ttlMillis), () => true)
      if (!renewed) yield* Ref.set(self, Option.none())
      const now = yield* Effect.orElseSucceed(store.now, () => 0)
      for (const member of yield* members) {
        if (member.status === "up" && member.expiresAt < now) yield* Effect.ignore(store.markDead(member))
      }
    })
    const beating = yield* Effect.forkIn(
      Effect.forever(Effect.zipRight(Effect.sleep("1 second"), heartbeat)),
      scope
    )
    const seat: Seat = {
      store,
      self: Ref.get(self),
      members,
      wake: Effect.sleep("250 millis")
    }
    return {
      id,
      seat,
      self,
      faults,
      scope,
      crash: Effect.gen(function*() {
        yield* faults.set({ fail: true })
        yield* Fiber.interrupt(beating)
        yield* Scope.close(scope, Exit.void)
      }),
      stop: Effect.gen(function*() {
        const me = yield* self
        if (Option.isNone(me)) return yield* Scope.close(scope, Exit.void)
        yield* Effect.orDie(store.setStatus(me.value, "leaving"))
        yield* Ref.set(self, Option.none())
        yield* Scope.close(scope, Exit.void)
        yield* Effect.orDie(store.setStatus(me.value, "left"))
      })
    }
  })
