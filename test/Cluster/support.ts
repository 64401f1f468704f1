/**
 * Several cluster nodes in one process: each an ActorSystem with remoting on
 * 127.0.0.1 (a free port) and a cluster over one shared store.
 */
import { Effect, Layer, Option, Scope } from "effect"
import { Actor, ActorSystem, Remoting } from "../../src/index.js"
import type { Service as Store } from "../../src/Cluster/ClusterStore.js"
import { build, defaultRelocationWait, nodeAddress } from "../../src/Cluster/internal/build.js"
import type { ClusterNode } from "../../src/Cluster/internal/cluster.js"
import { NodeView } from "../../src/Cluster/internal/directory.js"
import type { AnyDefinition } from "../../src/internal/system.js"
import { GetCount, Increment } from "../helpers.js"

/** A counter that also answers its fence. */
export const Counter = Actor.make("Counter", {
  protocol: [Increment, GetCount],
  initialState: () => 0,
  passivateAfter: "never",
  receive: {
    Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
    GetCount: (_, ctx) => ctx.get
  }
})

export interface TestNode {
  readonly id: string
  readonly system: ActorSystem.Service
  readonly cluster: ClusterNode
  readonly view: NodeView
  /** Reads the store's view into this node's mirror. */
  readonly refresh: Effect.Effect<void>
  readonly scope: Scope.CloseableScope
}

/** Starts a node: joins the store, builds its cluster; `Scope.close(node.scope)` stops it. */
export const startNode = (
  store: Store,
  id: string,
  options: { readonly kinds?: ReadonlyArray<AnyDefinition>; readonly relocate?: boolean } = {}
): Effect.Effect<TestNode> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const kinds = options.kinds ?? [Counter as unknown as AnyDefinition]
    const context = yield* Layer.buildWithScope(
      Remoting.layer({ kinds: kinds as never }).pipe(
        Layer.provideMerge(ActorSystem.layer({ name: id }))
      ),
      scope
    ).pipe(Effect.orDie)
    const system = Layer.succeedContext(context)
    const address = yield* nodeAddress.pipe(Effect.provide(system))
    const lease = yield* Effect.orDie(store.join({
      nodeId: id,
      address,
      kinds: kinds.map((def) => def.kind),
      roles: [],
      ttlMillis: 5000
    }))
    const view = new NodeView({ nodeId: lease.nodeId, epoch: lease.epoch })
    const refresh = Effect.orDie(Effect.flatMap(store.view(), (next) =>
      Effect.sync(() => {
        if (Option.isSome(next)) view.update(next.value)
      })))
    yield* refresh
    const cluster = yield* build(
      { kinds, relocate: options.relocate ?? true, relocationWait: defaultRelocationWait, maxBatch: 500 },
      store,
      view
    ).pipe(Effect.provide(system), Scope.extend(scope))
    return {
      id,
      system: yield* Effect.provide(ActorSystem.ActorSystem, system),
      cluster,
      view,
      refresh,
      scope
    }
  })
