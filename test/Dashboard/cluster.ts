/**
 * Cluster nodes with a dashboard, in one process, on real time: each an
 * ActorSystem with remoting on 127.0.0.1, `Cluster.layer` over one shared
 * store (seen through its own `faulty` wrapper, to cut a node off) and
 * `Dashboard.layer` on a free port.
 */
import { type Duration, Effect, Exit, Layer, Schedule, Scope } from "effect"
import { ActorSystem, Cluster, ClusterStore, Dashboard, Discovery, Remoting } from "../../src/index.js"

export interface DashboardNode {
  readonly id: string
  readonly system: ActorSystem.Service
  readonly cluster: Cluster.Service
  readonly dashboard: Dashboard.Service
  readonly faults: ClusterStore.FaultControl
  readonly close: Effect.Effect<void>
}

/** Short leases: a node cut off from the store is declared dead after about 2 s. */
export const fastTimings = {
  ttl: "2 seconds",
  heartbeat: "400 millis",
  margin: "500 millis",
  reapInterval: "200 millis",
  sameHostProof: false,
  redeployInterval: "200 millis"
} as const

export const startNode = (
  shared: ClusterStore.Service,
  id: string,
  kinds: ReadonlyArray<Cluster.Kind>,
  dashboard: Dashboard.Options = {}
): Effect.Effect<DashboardNode> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const [store, faults] = yield* ClusterStore.faulty(shared)
    const layer = Dashboard.layer({ interval: "200 millis", peerTimeout: "500 millis", ...dashboard }).pipe(
      Layer.provideMerge(Cluster.layer({ ...fastTimings, nodeId: id, kinds })),
      Layer.provideMerge(Remoting.layer({ kinds: kinds as never })),
      Layer.provideMerge(ActorSystem.layer({ name: id })),
      Layer.provide(Layer.succeed(ClusterStore.ClusterStore, store)),
      Layer.provide(Discovery.layerStatic([]))
    )
    const context = yield* Effect.orDie(Layer.buildWithScope(layer, scope))
    return {
      id,
      system: yield* Effect.provide(ActorSystem.ActorSystem, context),
      cluster: yield* Effect.provide(Cluster.Cluster, context),
      dashboard: yield* Effect.provide(Dashboard.Dashboard, context),
      faults,
      close: Scope.close(scope, Exit.void)
    }
  })

/** Polls `check` every 100 ms until it holds (what the snapshot shows changes once per sample). */
export const eventually = <A>(effect: Effect.Effect<A>, check: (a: A) => boolean, limit: Duration.DurationInput = "15 seconds") =>
  effect.pipe(
    Effect.filterOrFail(check, () => "not yet" as const),
    Effect.retry({ schedule: Schedule.spaced("100 millis") }),
    Effect.timeoutFail({ duration: limit, onTimeout: () => new Error(`condition not met within ${String(limit)}`) }),
    Effect.orDie
  )


