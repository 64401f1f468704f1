/**
 * The `Discovery` tag and its service shape, apart from the providers so
 * that each provider (in `../../discovery/`) can provide the tag while the
 * public `Discovery` module re-exports the providers without an import
 * cycle.
 */
import { Context, type Effect, type Stream } from "effect"
import type { DiscoveryUnavailable } from "../../ClusterError.js"

/**
 * A node as discovery knows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Peer {
  readonly nodeId: string
  /** Where remoting reaches it: `host:port`. */
  readonly address: string
}

/**
 * A discovery provider. Write your own by implementing these four members.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Announces this node (called when it joins). */
  readonly register: (self: Peer) => Effect.Effect<void, DiscoveryUnavailable>
  /** Withdraws it (called when it leaves). */
  readonly deregister: (self: Peer) => Effect.Effect<void, DiscoveryUnavailable>
  /** The peers known now. */
  readonly peers: Effect.Effect<ReadonlyArray<Peer>, DiscoveryUnavailable>
  /** The peers each time they change, where the provider can tell. */
  readonly watch?: Stream.Stream<ReadonlyArray<Peer>, DiscoveryUnavailable> | undefined
}

/**
 * The discovery service of the context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Discovery } from "effect-actors"
 *
 * const peers = Effect.flatMap(Discovery.Discovery, (discovery) => discovery.peers)
 * ```
 * @since 0.1.0
 * @category tags
 */
export class Discovery extends Context.Tag("effect-actors/Discovery")<Discovery, Service>() {}
