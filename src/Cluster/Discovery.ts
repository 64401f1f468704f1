/**
 * Where the peers of a cluster are: a `Discovery` service, one
 * implementation per provider: static here, and `Dns`, `Kubernetes`, `Nats`
 * and `Mdns` (each a namespace of this module with a `Config` schema, `make`
 * and `layer`; the NATS and mDNS packages are optional and loaded only when
 * their layer is built). Discovery only finds addresses: it never decides who
 * is alive (the store's leases do), so it cannot split a cluster, not even
 * on a cold start where it sees nobody yet.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { Discovery, type Peer, type Service } from "./internal/discovery/service.js"

export {
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
  Discovery,
  /**
   * A node as discovery knows it (`nodeId`, and `address` as `host:port`).
   *
   * @since 0.1.0
   * @category models
   */
  type Peer,
  /**
   * A discovery provider: `register`, `deregister`, `peers` and an optional `watch`.
   *
   * @since 0.1.0
   * @category models
   */
  type Service
} from "./internal/discovery/service.js"

/**
 * A fixed list of peers (from configuration): registering changes nothing.
 *
 * @example
 * ```ts
 * const discovery = Discovery.makeStatic([{ nodeId: "a", address: "10.0.0.1:7000" }])
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeStatic = (peers: ReadonlyArray<Peer>): Service => ({
  register: () => Effect.void,
  deregister: () => Effect.void,
  peers: Effect.succeed(peers)
})

/**
 * The static provider as a layer.
 *
 * @example
 * ```ts
 * Effect.provide(program, Discovery.layerStatic([{ nodeId: "a", address: "127.0.0.1:7000" }]))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (peers: ReadonlyArray<Peer>): Layer.Layer<Discovery> =>
  Layer.succeed(Discovery, makeStatic(peers))

/**
 * DNS discovery (A/AAAA or SRV records) over `node:dns`: `Discovery.Dns.layer(config)`.
 *
 * @example
 * ```ts
 * Discovery.Dns.layer({ name: "nodes.shop.local", type: "A", port: 7000, system: "shop" })
 * ```
 * @since 0.1.0
 * @category providers
 */
export * as Dns from "./discovery/dns.js"

/**
 * Kubernetes discovery (Ready pods by label selector, through the API server
 * over `HttpClient`): `Discovery.Kubernetes.layer(config)`.
 *
 * @example
 * ```ts
 * Discovery.Kubernetes.layer({ namespace: "shop", labelSelector: "app=shop", portName: "remoting", system: "shop" })
 * ```
 * @since 0.1.0
 * @category providers
 */
export * as Kubernetes from "./discovery/kubernetes.js"

/**
 * NATS discovery by request/reply on `<prefix>.discover`, with join/leave
 * announcements (needs the optional `@nats-io/transport-node`):
 * `Discovery.Nats.layer(config)`.
 *
 * @example
 * ```ts
 * Discovery.Nats.layer({ servers: ["127.0.0.1:4222"], prefix: "shop.cluster" })
 * ```
 * @since 0.1.0
 * @category providers
 */
export * as Nats from "./discovery/nats.js"

/**
 * mDNS / DNS-SD discovery on the local network (needs the optional
 * `multicast-dns`): `Discovery.Mdns.layer(config)`.
 *
 * @example
 * ```ts
 * Discovery.Mdns.layer({ service: "shop", interface: "192.168.1.20" })
 * ```
 * @since 0.1.0
 * @category providers
 */
export * as Mdns from "./discovery/mdns.js"
