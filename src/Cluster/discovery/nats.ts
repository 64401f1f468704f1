/**
 * NATS discovery by request/reply: every registered node answers requests on
 * `<prefix>.discover` with its `{ nodeId, address }`, and publishes itself on
 * `<prefix>.join` when it registers and on `<prefix>.leave` when it
 * deregisters (or its scope closes). `peers` sends one request and gathers
 * the replies for `gatherMillis`; `watch` follows join/leave from a first
 * gathering. A node that dies without leaving stops answering, so the next
 * gathering drops it (and the store's lease decides it is dead, not this).
 *
 * Library: `@nats-io/transport-node` 3.x, the maintained official NATS
 * client (the `nats` package's successor). It is an optional peer
 * dependency, loaded with a dynamic `import()` when the layer is built;
 * without it the layer fails with `DiscoveryPackageMissing`. Each reply is
 * checked against `maxReplyBytes` before it is decoded, and at most
 * `maxPeers` replies are read.
 *
 * @example
 * ```ts
 * import { Discovery } from "effect-actors"
 *
 * const discovery = Discovery.Nats.layer({ servers: ["nats://10.0.0.9:4222"], prefix: "shop.cluster" })
 * ```
 * @since 0.1.0
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node"
import { Effect, Layer, Schema, type Scope } from "effect"
import {
  type DiscoveryConfigInvalid,
  type DiscoveryPackageMissing,
  DiscoveryUnavailable
} from "../ClusterError.js"
import { Discovery, type Peer, type Service } from "../internal/discovery/service.js"
import { Count, decodeConfig, Millis } from "../internal/discovery/config.js"
import { importOptional } from "../internal/discovery/optional.js"
import { announcedWatch, normalize } from "../internal/discovery/peers.js"

const provider = "nats"
const packageName = "@nats-io/transport-node"

/** `host:port`, `nats://host:port` or `tls://host:port`. */
const Server = Schema.String.pipe(Schema.pattern(/^((nats|tls|ws|wss):\/\/)?[^\s/]+(:\d{1,5})?$/))

/**
 * The NATS provider's configuration, as a `Schema` (decoded when the layer
 * is built; a bad field fails with `DiscoveryConfigInvalid` naming it).
 *
 * - `servers` (`["127.0.0.1:4222"]`): NATS servers.
 * - `prefix` (`"effect-actors"`): subject prefix, dot-separated tokens of
 *   letters, digits, `-` and `_`; one per cluster.
 * - `gatherMillis` (300): how long `peers` collects replies.
 * - `maxPeers` (1000), `maxReplyBytes` (4096): limits on what is read.
 * - `connectTimeoutMillis` (5000).
 *
 * @example
 * ```ts
 * const config: Discovery.Nats.Config = { servers: ["127.0.0.1:4222"], prefix: "shop.cluster", gatherMillis: 200 }
 * ```
 * @since 0.1.0
 * @category models
 */
export const Config = Schema.Struct({
  servers: Schema.optionalWith(Schema.Array(Server).pipe(Schema.minItems(1)), { default: () => ["127.0.0.1:4222"] }),
  prefix: Schema.optionalWith(
    Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/), Schema.maxLength(200)),
    { default: () => "effect-actors" }
  ),
  gatherMillis: Schema.optionalWith(Millis, { default: () => 300 }),
  maxPeers: Schema.optionalWith(Count, { default: () => 1000 }),
  maxReplyBytes: Schema.optionalWith(Schema.Int.pipe(Schema.between(64, 1024 * 1024)), { default: () => 4096 }),
  connectTimeoutMillis: Schema.optionalWith(Millis, { default: () => 5000 })
})

/**
 * The NATS provider's configuration as written by a user.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config extends Schema.Schema.Encoded<typeof Config> {}

const PeerJson = Schema.parseJson(Schema.Struct({ nodeId: Schema.NonEmptyString, address: Schema.String }))
const decodePeer = Schema.decodeUnknownOption(PeerJson)
const encodePeer = (peer: Peer) => JSON.stringify({ nodeId: peer.nodeId, address: peer.address })

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * The NATS provider as a service, connected for the life of the scope
 * (validates `config` first; registered nodes leave when the scope closes).
 *
 * @example
 * ```ts
 * const discovery = yield* Discovery.Nats.make({ prefix: "shop.cluster" })
 * yield* discovery.register({ nodeId: "node-a", address: "shop@10.0.0.1:7000" })
 * const peers = yield* discovery.peers
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: Config
): Effect.Effect<Service, DiscoveryConfigInvalid | DiscoveryPackageMissing | DiscoveryUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* decodeConfig(provider, Config, config)
    const nats = yield* importOptional(provider, packageName, () => import("@nats-io/transport-node"))
    const unavailable = (what: string, error: unknown) =>
      new DiscoveryUnavailable({ provider, reason: `${what}: ${reasonOf(error)}` })
    const nc: NatsConnection = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          nats.connect({ servers: [...settings.servers], timeout: settings.connectTimeoutMillis, name: "effect-actors" }),
        catch: (error) => unavailable(`cannot connect to ${settings.servers.join(", ")}`, error)
      }),
      (connection) => Effect.promise(() => connection.drain().catch(() => connection.close()))
    )
    const subject = {
      discover: `${settings.prefix}.discover`,
      join: `${settings.prefix}.join`,
      leave: `${settings.prefix}.leave`
    }
    const decode = (msg: Msg): Peer | undefined => {
      if (msg.data.length > settings.maxReplyBytes) return undefined
      const peer = decodePeer(msg.string())
      return peer._tag === "Some" ? peer.value : undefined
    }
    const attempt = <A>(what: string, run: () => Promise<A> | A) =>
      Effect.tryPromise({ try: async () => run(), catch: (error) => unavailable(what, error) })

    /** The nodes this service answers for, with their reply subscriptions. */
    const registered = new Map<string, { readonly self: Peer; readonly sub: Subscription }>()

    const register = (self: Peer) =>
      Effect.suspend(() => {
        if (registered.has(self.nodeId)) return Effect.void
        return attempt(`register ${self.nodeId}`, () => {
          const sub = nc.subscribe(subject.discover, {
            callback: (error, msg) => {
              if (error === null) msg.respond(encodePeer(self))
            }
          })
          registered.set(self.nodeId, { self, sub })
          nc.publish(subject.join, encodePeer(self))
          return nc.flush()
        })
      })

    const deregister = (self: Peer) =>
      Effect.suspend(() => {
        const entry = registered.get(self.nodeId)
        if (entry === undefined) return Effect.void
        registered.delete(self.nodeId)
        return attempt(`deregister ${self.nodeId}`, () => {
          entry.sub.unsubscribe()
          nc.publish(subject.leave, encodePeer(entry.self))
          return nc.flush()
        })
      })

    // Runs before the connection drains (finalizers run in reverse order): whoever is still registered leaves.
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...registered.values()], ({ self }) => Effect.ignore(deregister(self)), { discard: true })
    )

    const peers = Effect.tryPromise({
      try: async () => {
        const found: Array<Peer> = []
        try {
          const replies = await nc.requestMany(subject.discover, "", {
            strategy: "timer",
            maxWait: settings.gatherMillis,
            maxMessages: settings.maxPeers
          })
          for await (const msg of replies) {
            const peer = decode(msg)
            if (peer !== undefined) found.push(peer)
          }
        } catch (error) {
          // Nobody registered under this prefix yet: no peers, not an outage.
          if (!(error instanceof nats.NoRespondersError)) throw error
        }
        return normalize(found)
      },
      catch: (error) => unavailable(`request on ${subject.discover}`, error)
    })

    const watch = announcedWatch(peers, (announce) =>
      Effect.forEach([[subject.join, true], [subject.leave, false]] as const, ([name, joined]) =>
        Effect.acquireRelease(
          attempt(`subscribe ${name}`, () =>
            nc.subscribe(name, {
              callback: (error, msg) => {
                const peer = error === null ? decode(msg) : undefined
                if (peer !== undefined) announce(joined, peer)
              }
            })),
          (sub) => Effect.sync(() => sub.unsubscribe())
        ), { discard: true }))

    const service: Service = { register, deregister, peers, watch }
    return service
  })

/**
 * The NATS provider as the cluster's `Discovery` (connected while the layer lives).
 *
 * @example
 * ```ts
 * const node = Cluster.layer({ nodeId: "node-a", kinds: [Counter] }).pipe(
 *   Layer.provide(Discovery.Nats.layer({ servers: ["127.0.0.1:4222"], prefix: "shop.cluster" }))
 * ) // plus Remoting, ActorSystem and a ClusterStore, as with any provider
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: Config
): Layer.Layer<Discovery, DiscoveryConfigInvalid | DiscoveryPackageMissing | DiscoveryUnavailable> =>
  Layer.scoped(Discovery, make(config))
