/**
 * Full cluster nodes in one process for tests: each an ActorSystem with
 * remoting on 127.0.0.1 and `Cluster.layer`, over one shared memory store
 * seen through its own `faulty` wrapper (to cut one node off the store).
 */
import { Effect, Exit, Fiber, Layer, Queue, Scope, TestClock } from "effect"
import { ActorSystem, type EventStream, Remoting, Transport } from "../../src/index.js"
import * as Cluster from "../../src/Cluster/Cluster.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import * as Discovery from "../../src/Cluster/Discovery.js"

export interface ClusterNode {
  readonly id: string
  readonly system: ActorSystem.Service
  readonly cluster: Cluster.Service
  readonly remoting: Remoting.Service
  readonly faults: ClusterStore.FaultControl
  readonly events: Queue.Dequeue<EventStream.Event>
  readonly scope: Scope.CloseableScope
  /** Closes the node's layers (a graceful leave). */
  readonly close: Effect.Effect<void>
}

export const timings = {
  ttl: "5 seconds",
  heartbeat: "1 second",
  margin: "1 second",
  reapInterval: "500 millis"
} as const

export const startClusterNode = (
  shared: ClusterStore.Service,
  id: string,
  options: Omit<Cluster.Options, "nodeId">,
  /** The remoting transport (default TCP; the test transport to partition nodes). */
  transport: Transport.Service = Transport.makeTcp()
): Effect.Effect<ClusterNode> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const [store, faults] = yield* ClusterStore.faulty(shared)
    const kinds = options.kinds ?? []
    const layer = Cluster.layer({ ...timings, sameHostProof: false, ...options, nodeId: id }).pipe(
      Layer.provideMerge(Remoting.layer({ kinds: kinds as never })),
      Layer.provideMerge(ActorSystem.layer({ name: id })),
      Layer.provide(Layer.succeed(Transport.Transport, transport)),
      Layer.provide(Layer.succeed(ClusterStore.ClusterStore, store)),
      Layer.provide(Discovery.layerStatic([]))
    )
    const context = yield* Effect.orDie(Layer.buildWithScope(layer, scope))
    const system = yield* Effect.provide(ActorSystem.ActorSystem, context)
    const events = yield* Scope.extend(system.subscribe, scope)
    return {
      id,
      system,
      cluster: yield* Effect.provide(Cluster.Cluster, context),
      remoting: yield* Effect.provide(Remoting.Remoting, context),
      faults,
      events,
      scope,
      // Closing waits on the Clock here and there (remoting drains its connections): keep the TestClock moving.
      close: Effect.gen(function*() {
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        while ((yield* Fiber.poll(closing))._tag === "None") {
          yield* TestClock.adjust("50 millis")
          yield* realPause()
        }
      })
    }
  })

/** Lets real I/O (sockets on 127.0.0.1) make progress while the TestClock stands still. */
export const realPause = (millis = 2) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** Moves the TestClock by `millis` in steps, letting fibers and sockets run between them. */
export const advance = (millis: number, step = 250) =>
  Effect.gen(function*() {
    for (let t = 0; t < millis; t += step) {
      yield* TestClock.adjust(`${Math.min(step, millis - t)} millis`)
      yield* realPause()
    }
  })

/** The events of a node so far. */
export const drain = (node: ClusterNode) => Queue.takeAll(node.events)

/** Runs an effect while the TestClock keeps moving (sends by name wait on it while a name moves). */
export const withClock = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    while ((yield* Fiber.poll(fiber))._tag === "None") {
      yield* TestClock.adjust("50 millis")
      yield* realPause()
    }
    return yield* Fiber.join(fiber)
  })

/** Waits (in TestClock steps of 250 ms) until `check` holds, for up to `maxMillis`. */
export const eventually = <E>(check: Effect.Effect<boolean, E>, maxMillis = 30_000) =>
  Effect.gen(function*() {
    for (let t = 0; t <= maxMillis; t += 250) {
      if (yield* check) return
      yield* advance(250)
    }
    throw new Error("condition not reached in time")
  })
