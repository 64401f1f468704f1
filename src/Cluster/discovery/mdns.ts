/**
 * mDNS discovery (DNS-SD over multicast DNS, RFC 6762/6763), for a LAN or
 * one host with no infrastructure at all. A registered node answers PTR
 * queries for `_<service>._tcp.local` with its instance
 * (`<nodeId>._<service>._tcp.local`): a PTR, an SRV (port and host from its
 * address), and a TXT record carrying `nodeId=` and `address=` (the address
 * exactly as remoting prints it). It announces itself when it registers and
 * sends a goodbye (the same records with TTL 0) when it deregisters or its
 * scope closes. `peers` sends one query and gathers answers for
 * `gatherMillis`; `watch` follows announcements and goodbyes.
 *
 * Library: `multicast-dns` (mafintosh; the transport under `bonjour` and
 * `bonjour-service`, small and long maintained). It is an optional peer
 * dependency, loaded with a dynamic `import()` when the layer is built;
 * without it the layer fails with `DiscoveryPackageMissing`. It decodes
 * each UDP datagram (bounded by UDP itself) with `dns-packet`; this provider
 * then reads only TXT records of its own service type, at most
 * `maxPeers`, each value at most 255 bytes (the DNS limit of a string).
 *
 * `interface` picks the IPv4 interface for multicast (default: the OS
 * choice). The socket is bound to the group address (`224.0.0.251`), so it
 * receives only mDNS multicast, not unicast sent to the port: that is also
 * what makes mDNS work on the loopback interface of Linux, whose `lo` has no
 * MULTICAST flag but still loops multicast back when it is the chosen
 * interface (bound to 127.0.0.1, the socket would not see group traffic).
 *
 * @example
 * ```ts
 * import { Discovery } from "effect-actors"
 *
 * const discovery = Discovery.Mdns.layer({ service: "shop" })
 * ```
 * @since 0.1.0
 */
import { isIPv4 } from "node:net"
import type { Answer } from "dns-packet"
import type * as MulticastDns from "multicast-dns"
import { Effect, Layer, Runtime, Schema, type Scope } from "effect"
import {
  type DiscoveryConfigInvalid,
  type DiscoveryPackageMissing,
  DiscoveryUnavailable
} from "../ClusterError.js"
import { Discovery, type Peer, type Service } from "../internal/discovery/service.js"
import { Count, decodeConfig, Millis, Port, Token } from "../internal/discovery/config.js"
import { importOptional } from "../internal/discovery/optional.js"
import { announcedWatch, normalize } from "../internal/discovery/peers.js"

const provider = "mdns"
const packageName = "multicast-dns"

const Ipv4 = Schema.String.pipe(Schema.filter((s) => isIPv4(s), { message: () => "expected an IPv4 address" }))

/**
 * The mDNS provider's configuration, as a `Schema` (decoded when the layer
 * is built; a bad field fails with `DiscoveryConfigInvalid` naming it).
 *
 * - `service` (`"effect-actors"`): the DNS-SD service, `_<service>._tcp.local`; one per cluster.
 * - `interface`: the IPv4 address of the interface to use (`"127.0.0.1"` for one host).
 * - `port` (5353) and `group` (`224.0.0.251`): mDNS's own; change them only to isolate tests.
 * - `gatherMillis` (500): how long `peers` collects answers.
 * - `ttlSeconds` (120): the TTL of the records this node announces.
 * - `maxPeers` (1000).
 *
 * @example
 * ```ts
 * const config: Discovery.Mdns.Config = { service: "shop", interface: "192.168.1.20", gatherMillis: 300 }
 * ```
 * @since 0.1.0
 * @category models
 */
export const Config = Schema.Struct({
  service: Schema.optionalWith(Token, { default: () => "effect-actors" }),
  interface: Schema.optional(Ipv4),
  port: Schema.optionalWith(Port, { default: () => 5353 }),
  group: Schema.optionalWith(
    Ipv4.pipe(Schema.filter((s) => Number(s.split(".")[0]) >= 224 && Number(s.split(".")[0]) <= 239, {
      message: () => "expected an IPv4 multicast address (224.0.0.0 to 239.255.255.255)"
    })),
    { default: () => "224.0.0.251" }
  ),
  gatherMillis: Schema.optionalWith(Millis, { default: () => 500 }),
  ttlSeconds: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 4500)), { default: () => 120 }),
  maxPeers: Schema.optionalWith(Count, { default: () => 1000 })
})

/**
 * The mDNS provider's configuration as written by a user.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config extends Schema.Schema.Encoded<typeof Config> {}

/** A DNS label for a node id (the TXT record keeps the exact id). */
const label = (nodeId: string) => nodeId.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 63) || "node"

/** `host` and `port` from `[system@]host:port` (an IPv6 host in brackets), for the SRV record. */
const hostPort = (address: string): { readonly host: string; readonly port: number } | undefined => {
  const match = /^(?:[^@]*@)?(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address)
  if (match === null) return undefined
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port: Number(match[2]) }
}

const txtValues = (data: unknown): Map<string, string> => {
  const values = new Map<string, string>()
  const entries = Array.isArray(data) ? data : [data]
  for (const entry of entries) {
    const text = typeof entry === "string" ? entry : Buffer.isBuffer(entry) ? entry.toString("utf8") : ""
    if (text.length > 255) continue
    const at = text.indexOf("=")
    if (at > 0) values.set(text.slice(0, at), text.slice(at + 1))
  }
  return values
}

/**
 * The mDNS provider as a service, its socket open for the life of the scope
 * (validates `config` first; registered nodes say goodbye when the scope closes).
 *
 * @example
 * ```ts
 * const discovery = yield* Discovery.Mdns.make({ service: "shop", interface: "127.0.0.1" })
 * yield* discovery.register({ nodeId: "node-a", address: "shop@127.0.0.1:7000" })
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
    const module = yield* importOptional(provider, packageName, () => import("multicast-dns"))
    const create = module.default
    const unavailable = (reason: string) => new DiscoveryUnavailable({ provider, reason })
    const serviceType = `_${settings.service}._tcp.local`
    // Socket errors after start are logged through the caller's logger, not the default one.
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())

    const mdns: MulticastDns.MulticastDNS = yield* Effect.acquireRelease(
      Effect.async<MulticastDns.MulticastDNS, DiscoveryUnavailable>((resume) => {
        const socket = create({
          port: settings.port,
          ip: settings.group,
          bind: settings.group,
          reuseAddr: true,
          loopback: true,
          ...(settings.interface === undefined ? {} : { interface: settings.interface })
        })
        const failed = (error: Error) => resume(Effect.fail(unavailable(`cannot open the mDNS socket: ${error.message}`)))
        socket.once("error", failed)
        socket.once("ready", () => {
          socket.off("error", failed)
          socket.on("error", (error) => runFork(Effect.logWarning("discovery (mdns): socket error", error)))
          resume(Effect.succeed(socket))
        })
      }),
      (socket) => Effect.async<void>((resume) => socket.destroy(() => resume(Effect.void)))
    )

    const send = (what: string, run: (done: (error: Error | null) => void) => void) =>
      Effect.async<void, DiscoveryUnavailable>((resume) =>
        run((error) => resume(error === null ? Effect.void : Effect.fail(unavailable(`${what}: ${error.message}`))))
      )

    const recordsOf = (self: Peer, ttl: number): Array<Answer> => {
      const instance = `${label(self.nodeId)}.${serviceType}`
      const target = `${label(self.nodeId)}.local`
      const where = hostPort(self.address)
      return [
        { name: serviceType, type: "PTR", ttl, data: instance },
        { name: instance, type: "TXT", ttl, data: [`nodeId=${self.nodeId}`, `address=${self.address}`] },
        ...(where === undefined ? [] : [
          { name: instance, type: "SRV" as const, ttl, data: { target, port: where.port, priority: 0, weight: 0 } },
          ...(isIPv4(where.host) ? [{ name: target, type: "A" as const, ttl, data: where.host }] : [])
        ])
      ]
    }

    /** The peers a response speaks of: `[announced, peer]`, goodbyes (TTL 0) with `false`. */
    const peersIn = (response: MulticastDns.ResponsePacket): Array<readonly [boolean, Peer]> => {
      const found: Array<readonly [boolean, Peer]> = []
      for (const record of [...(response.answers ?? []), ...(response.additionals ?? [])]) {
        if (record.type !== "TXT" || !record.name.endsWith(`.${serviceType}`)) continue
        const values = txtValues(record.data)
        const nodeId = values.get("nodeId")
        const address = values.get("address")
        if (nodeId === undefined || nodeId === "" || address === undefined) continue
        found.push([(record.ttl ?? 1) > 0, { nodeId, address }])
        if (found.length >= settings.maxPeers) break
      }
      return found
    }

    /** The nodes this service answers for. */
    const registered = new Map<string, Peer>()
    const onQuery = (query: MulticastDns.QueryPacket) => {
      if (registered.size === 0) return
      const asked = (query.questions ?? []).some((q) =>
        q.name === serviceType && (q.type === "PTR" || String(q.type) === "ANY")
      )
      if (asked) mdns.respond({ answers: [...registered.values()].flatMap((self) => recordsOf(self, settings.ttlSeconds)) })
    }
    mdns.on("query", onQuery)
    yield* Effect.addFinalizer(() => Effect.sync(() => mdns.off("query", onQuery)))

    const register = (self: Peer) =>
      Effect.suspend(() => {
        registered.set(self.nodeId, self)
        return send(`announce ${self.nodeId}`, (done) =>
          mdns.respond({ answers: recordsOf(self, settings.ttlSeconds) }, (error) => done(error)))
      })

    const deregister = (self: Peer) =>
      Effect.suspend(() => {
        const known = registered.get(self.nodeId)
        if (known === undefined) return Effect.void
        registered.delete(self.nodeId)
        return send(`goodbye ${self.nodeId}`, (done) => mdns.respond({ answers: recordsOf(known, 0) }, (error) => done(error)))
      })

    // Runs before the socket closes (finalizers run in reverse order): whoever is still registered says goodbye.
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...registered.values()], (self) => Effect.ignore(deregister(self)), { discard: true })
    )

    const peers = Effect.gen(function*() {
      const found = new Map<string, Peer>()
      const onResponse = (response: MulticastDns.ResponsePacket) => {
        for (const [announced, peer] of peersIn(response)) {
          if (!announced) found.delete(peer.nodeId)
          else if (found.size < settings.maxPeers) found.set(peer.nodeId, peer)
        }
      }
      mdns.on("response", onResponse)
      return yield* send(`query ${serviceType}`, (done) =>
        mdns.query({ questions: [{ name: serviceType, type: "PTR" }] }, (error) => done(error))).pipe(
          Effect.zipRight(Effect.sleep(settings.gatherMillis)),
          Effect.map(() => normalize(found.values())),
          Effect.ensuring(Effect.sync(() => mdns.off("response", onResponse)))
        )
    })

    const watch = announcedWatch(peers, (announce) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const onResponse = (response: MulticastDns.ResponsePacket) => {
            for (const [announced, peer] of peersIn(response)) announce(announced, peer)
          }
          mdns.on("response", onResponse)
          return onResponse
        }),
        (onResponse) => Effect.sync(() => mdns.off("response", onResponse))
      ))

    const service: Service = { register, deregister, peers, watch }
    return service
  })

/**
 * The mDNS provider as the cluster's `Discovery` (its socket open while the layer lives).
 *
 * @example
 * ```ts
 * // every node of one host or LAN, the same service name:
 * const discovery = Discovery.Mdns.layer({ service: "shop", interface: "192.168.1.20" })
 * const node = Layer.provide(clusterNode, discovery)
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: Config
): Layer.Layer<Discovery, DiscoveryConfigInvalid | DiscoveryPackageMissing | DiscoveryUnavailable> =>
  Layer.scoped(Discovery, make(config))
