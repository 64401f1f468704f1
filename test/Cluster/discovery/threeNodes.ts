/**
 * The common end-to-end check of every discovery provider: three nodes, each
 * an ActorSystem with remoting on 127.0.0.1 and `Cluster.layer` over one
 * shared memory store, each with its own instance of the provider. The
 * cluster is formed when every node's view lists the three members and its
 * discovery lists the three addresses, exactly as with the static provider.
 */
import { createServer } from "node:net"
import { Effect, Layer } from "effect"
import { ActorSystem, Remoting } from "../../../src/index.js"
import * as Cluster from "../../../src/Cluster/Cluster.js"
import * as ClusterStore from "../../../src/Cluster/ClusterStore.js"
import { Discovery } from "../../../src/Cluster/Discovery.js"

/** One node of the test cluster, planned before it starts (so its address is known to the counterpart). */
export interface PlannedNode {
  readonly nodeId: string
  readonly port: number
  /** As remoting prints it: `shop@127.0.0.1:port`. */
  readonly address: string
}

export const system = "shop"

const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Three nodes on free ports of 127.0.0.1. */
export const planNodes: Effect.Effect<ReadonlyArray<PlannedNode>> = Effect.forEach([1, 2, 3], (i) =>
  Effect.map(freePort, (port) => ({ nodeId: `node-${i}`, port, address: `${system}@127.0.0.1:${port}` })))

/** What one node sees once the cluster is formed: member addresses (store) and peer addresses (discovery), sorted. */
export interface NodeSight {
  readonly nodeId: string
  readonly members: ReadonlyArray<string>
  readonly peers: ReadonlyArray<string>
}

const timings = { ttl: "5 seconds", heartbeat: "1 second", margin: "1 second", reapInterval: "100 millis" } as const

/**
 * Starts the planned nodes, each with the discovery layer `discoveryFor`
 * gives it; `until(done)` reads what every node sees (on real time, bounded
 * by the test's timeout) until `done` holds.
 */
export const startCluster = <E>(
  planned: ReadonlyArray<PlannedNode>,
  discoveryFor: (node: PlannedNode) => Layer.Layer<Discovery, E>
) =>
  Effect.gen(function*() {
    const store = yield* ClusterStore.ClusterStore
    const nodes = yield* Effect.forEach(planned, (node) =>
      Layer.build(
        Cluster.layer({ ...timings, sameHostProof: false, nodeId: node.nodeId }).pipe(
          Layer.provideMerge(Remoting.layer({ host: "127.0.0.1", port: node.port })),
          Layer.provideMerge(ActorSystem.layer({ name: system })),
          Layer.provideMerge(discoveryFor(node)),
          Layer.provide(Layer.succeed(ClusterStore.ClusterStore, store))
        )
      ))
    const sight = Effect.forEach(nodes, (context, i) =>
      Effect.gen(function*() {
        const members = yield* Effect.provide(Effect.flatMap(Cluster.Cluster, (cluster) => cluster.nodes), context)
        const peers = yield* Effect.provide(Effect.flatMap(Discovery, (discovery) => discovery.peers), context)
        return {
          nodeId: planned[i]?.nodeId ?? "",
          members: members.map((member) => member.address).sort(),
          peers: peers.map((peer) => peer.address).sort()
        } satisfies NodeSight
      }))
    const until = (done: (sight: NodeSight) => boolean) =>
      Effect.gen(function*() {
        while (true) {
          const sights = yield* sight
          if (sights.every(done)) return sights
          yield* Effect.sleep("50 millis")
        }
      })
    return { until }
  })

/** Starts the planned nodes and waits until every node sees them all as members and as peers. */
export const formCluster = <E>(
  planned: ReadonlyArray<PlannedNode>,
  discoveryFor: (node: PlannedNode) => Layer.Layer<Discovery, E>
) =>
  Effect.flatMap(
    startCluster(planned, discoveryFor),
    ({ until }) => until((s) => s.members.length === planned.length && s.peers.length === planned.length)
  ).pipe(Effect.provide(ClusterStore.layerMemory))
