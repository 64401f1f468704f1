/**
 * DNS discovery: the peers are the addresses a DNS name resolves to, as A /
 * AAAA records (every peer on one configured port) or SRV records (each with
 * its own port; targets resolved to A, else AAAA). This is how a Kubernetes
 * headless service, Consul's DNS interface or a hand-kept zone publish nodes.
 *
 * Library: Node's own `node:dns` `Resolver` (c-ares), with `setServers` when
 * `servers` is given, so a lookup never goes through the OS resolver's
 * caches and no dependency is needed. DNS is managed outside the cluster, so
 * `register`/`deregister` do nothing: a node appears when its record is
 * published. A name that does not exist (yet), or has no record of the type,
 * is an empty list, not an error: that is a cold start, and discovery never
 * decides who is alive anyway (the store does).
 *
 * A peer's `nodeId` is its `host:port` (DNS knows no node ids); its
 * `address` is `system@host:port` when `system` is set (as remoting prints
 * addresses), else `host:port`.
 *
 * @example
 * ```ts
 * import { Discovery } from "effect-actors"
 *
 * const discovery = Discovery.Dns.layer({ name: "_actors._tcp.shop.svc.cluster.local", type: "SRV", system: "shop" })
 * ```
 * @since 0.1.0
 */
import { Resolver } from "node:dns/promises"
import { isIP } from "node:net"
import { Effect, Layer, Schema } from "effect"
import { type DiscoveryConfigInvalid, DiscoveryUnavailable } from "../ClusterError.js"
import { Discovery, type Peer, type Service } from "../internal/discovery/service.js"
import { decodeConfig, Millis, Port, SystemName } from "../internal/discovery/config.js"
import { formatAddress, normalize, pollingWatch } from "../internal/discovery/peers.js"

const provider = "dns"

/** `ip`, `ip:port`, `[ipv6]:port` or `ipv6`: the forms `Resolver.setServers` takes. */
const isServer = (server: string): boolean => {
  if (isIP(server) !== 0) return true
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(server)
  const plain = /^([^:]+):(\d{1,5})$/.exec(server)
  const match = bracketed ?? plain
  if (match === null) return false
  const port = Number(match[2])
  return isIP(match[1] ?? "") !== 0 && port >= 1 && port <= 65535
}

/**
 * The DNS provider's configuration, as a `Schema` (decoded when the layer is
 * built; a bad field fails with `DiscoveryConfigInvalid` naming it).
 *
 * - `name`: the DNS name to resolve.
 * - `type`: `"A"`, `"AAAA"`, `"A+AAAA"` (both) or `"SRV"`.
 * - `port`: the remoting port of every peer; required for A/AAAA, unused for SRV.
 * - `servers`: DNS servers (`ip` or `ip:port`); default the system's.
 * - `system`: the actor system's name, to print addresses as `system@host:port`.
 * - `timeoutMillis` (2000) and `tries` (2): per query.
 * - `watchIntervalMillis` (5000): how often `watch` resolves again.
 *
 * @example
 * ```ts
 * const config: Discovery.Dns.Config = { name: "nodes.shop.local", type: "A", port: 7000, servers: ["10.0.0.2:53"] }
 * ```
 * @since 0.1.0
 * @category models
 */
export const Config = Schema.Struct({
  name: Schema.NonEmptyTrimmedString,
  type: Schema.Literal("A", "AAAA", "A+AAAA", "SRV"),
  port: Schema.optional(Port),
  servers: Schema.optional(
    Schema.Array(Schema.String.pipe(Schema.filter(isServer, { message: () => "expected ip, ip:port or [ipv6]:port" })))
  ),
  system: Schema.optional(SystemName),
  timeoutMillis: Schema.optionalWith(Millis, { default: () => 2000 }),
  tries: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 10)), { default: () => 2 }),
  watchIntervalMillis: Schema.optionalWith(Millis, { default: () => 5000 })
}).pipe(
  Schema.filter((config) =>
    config.type !== "SRV" && config.port === undefined
      ? { path: ["port"], message: `required for type ${config.type} (records carry no port)` }
      : undefined
  )
)

/**
 * The DNS provider's configuration as written by a user.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config extends Schema.Schema.Encoded<typeof Config> {}

const absent = new Set(["ENOTFOUND", "ENODATA", "NOTFOUND", "NODATA"])

const codeOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error ? String(error.code) : String(error)

/**
 * The DNS provider as a service (validates `config` first).
 *
 * @example
 * ```ts
 * const discovery = yield* Discovery.Dns.make({ name: "nodes.shop.local", type: "A", port: 7000 })
 * const peers = yield* discovery.peers
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Service, DiscoveryConfigInvalid> =>
  Effect.map(decodeConfig(provider, Config, config), (settings) => {
    /** One query; a fresh resolver each time so that interrupting it cancels only this one. */
    const query = <A>(what: string, run: (resolver: Resolver) => Promise<ReadonlyArray<A>>) =>
      Effect.tryPromise({
        try: (signal) => {
          const resolver = new Resolver({ timeout: settings.timeoutMillis, tries: settings.tries })
          if (settings.servers !== undefined) resolver.setServers(settings.servers)
          signal.addEventListener("abort", () => resolver.cancel())
          return run(resolver)
        },
        catch: (error) => error
      }).pipe(
        Effect.catchAll((error) =>
          absent.has(codeOf(error))
            ? Effect.succeed<ReadonlyArray<A>>([])
            : Effect.fail(new DiscoveryUnavailable({ provider, reason: `${what}: ${codeOf(error)}` }))
        )
      )

    const hosts = (name: string, type: "A" | "AAAA" | "A+AAAA") =>
      Effect.gen(function*() {
        if (isIP(name) !== 0) return [name]
        const v4 = type === "AAAA" ? [] : yield* query(`A ${name}`, (r) => r.resolve4(name))
        const v6 = type === "A" ? [] : yield* query(`AAAA ${name}`, (r) => r.resolve6(name))
        return [...v4, ...v6]
      })

    const toPeer = (host: string, port: number): Peer => ({
      nodeId: formatAddress(undefined, host, port),
      address: formatAddress(settings.system, host, port)
    })

    const peers: Effect.Effect<ReadonlyArray<Peer>, DiscoveryUnavailable> = settings.type === "SRV"
      ? Effect.gen(function*() {
        const records = yield* query(`SRV ${settings.name}`, (r) => r.resolveSrv(settings.name))
        const found = yield* Effect.forEach(records, (record) =>
          Effect.map(
            Effect.flatMap(hosts(record.name, "A"), (v4) => v4.length > 0 ? Effect.succeed(v4) : hosts(record.name, "AAAA")),
            (ips) => ips.map((ip) => toPeer(ip, record.port))
          ), { concurrency: 4 })
        return normalize(found.flat())
      })
      : Effect.map(
        hosts(settings.name, settings.type),
        (ips) => normalize(ips.map((ip) => toPeer(ip, settings.port ?? 0)))
      )

    return {
      register: () => Effect.void,
      deregister: () => Effect.void,
      peers,
      watch: pollingWatch(peers, settings.watchIntervalMillis)
    }
  })

/**
 * The DNS provider as the cluster's `Discovery`.
 *
 * @example
 * ```ts
 * Cluster.layer({ nodeId: "node-a", kinds: [Counter] }).pipe(
 *   Layer.provideMerge(Remoting.layer({ kinds: [Counter] })),
 *   Layer.provideMerge(ActorSystem.layer({ name: "shop" })),
 *   Layer.provide(ClusterStore.layerPg(pgConfig)),
 *   Layer.provide(Discovery.Dns.layer({ name: "nodes.shop.local", type: "A", port: 7000, system: "shop" }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config): Layer.Layer<Discovery, DiscoveryConfigInvalid> =>
  Layer.effect(Discovery, make(config))
