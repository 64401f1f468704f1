/**
 * Kubernetes discovery: the peers are the pods of a namespace that match a
 * label selector, listed through the API server
 * (`GET /api/v1/namespaces/{namespace}/pods?labelSelector=...`) with the
 * pod's service-account token (read from its file at every call, since
 * projected tokens rotate). Only pods that are Ready, have an IP and are not
 * terminating count; each is reached on its container port named
 * `portName`. A peer's `nodeId` is the pod's name (with a StatefulSet, also
 * its stable hostname: a good `Cluster` `nodeId`).
 *
 * Library: `@effect/platform`'s `HttpClient` (the layer needs one: in a pod,
 * `NodeHttpClient.layerWithoutAgent` with `NodeHttpClient.makeAgentLayer({ ca })`
 * over the service account's `ca.crt`), so requests are interruptible,
 * traced and testable; no Kubernetes client library is needed for one GET.
 * The response is read up to `maxResponseBytes` before it is parsed, and
 * decoded with a `Schema` of the few fields used.
 *
 * `register`/`deregister` do nothing: the kubelet registers a pod by
 * marking it Ready. **Cold start** (GoAkt #1265, where pods that found no
 * Ready peer each bootstrapped a one-node cluster): here no node forms a
 * cluster from what discovery says. Every node joins the shared store and
 * the members are the live leases there, so pods that start before any is
 * Ready still form one cluster; an empty pod list only means "no hint yet".
 * Do not gate a pod's readiness probe on seeing its peers (they would wait
 * for each other).
 *
 * @example
 * ```ts
 * import { Discovery } from "effect-actors"
 *
 * const discovery = Discovery.Kubernetes.layer({ namespace: "shop", labelSelector: "app=shop", portName: "remoting", system: "shop" })
 * ```
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Layer, Schema, Stream } from "effect"
import { type DiscoveryConfigInvalid, DiscoveryUnavailable } from "../ClusterError.js"
import { Discovery, type Peer, type Service } from "../internal/discovery/service.js"
import { decodeConfig, Millis, SystemName } from "../internal/discovery/config.js"
import { formatAddress, normalize, pollingWatch } from "../internal/discovery/peers.js"

const provider = "kubernetes"

/** A DNS-1123 label, as namespaces are. */
const Namespace = Schema.String.pipe(Schema.pattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/), Schema.maxLength(63))

/** An IANA service name, as named container ports are. */
const PortName = Schema.String.pipe(Schema.pattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/), Schema.maxLength(15))

const HttpUrl = Schema.String.pipe(
  Schema.filter((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), {
    message: () => "expected an http(s) URL"
  })
)

/**
 * The Kubernetes provider's configuration, as a `Schema` (decoded when the
 * layer is built; a bad field fails with `DiscoveryConfigInvalid` naming it).
 *
 * - `namespace`, `labelSelector` (e.g. `app=shop,tier=actors`), `portName`
 *   (the container port's name).
 * - `apiServer` (`https://kubernetes.default.svc`) and `tokenFile`
 *   (`/var/run/secrets/kubernetes.io/serviceaccount/token`).
 * - `system`: the actor system's name, to print addresses as `system@ip:port`.
 * - `timeoutMillis` (5000), `maxResponseBytes` (8 MiB), `watchIntervalMillis` (5000).
 *
 * @example
 * ```ts
 * const config: Discovery.Kubernetes.Config = { namespace: "shop", labelSelector: "app=shop", portName: "remoting" }
 * ```
 * @since 0.1.0
 * @category models
 */
export const Config = Schema.Struct({
  namespace: Namespace,
  labelSelector: Schema.NonEmptyTrimmedString,
  portName: PortName,
  apiServer: Schema.optionalWith(HttpUrl, { default: () => "https://kubernetes.default.svc" }),
  tokenFile: Schema.optionalWith(Schema.NonEmptyTrimmedString, {
    default: () => "/var/run/secrets/kubernetes.io/serviceaccount/token"
  }),
  system: Schema.optional(SystemName),
  timeoutMillis: Schema.optionalWith(Millis, { default: () => 5000 }),
  maxResponseBytes: Schema.optionalWith(Schema.Int.pipe(Schema.between(1024, 256 * 1024 * 1024)), {
    default: () => 8 * 1024 * 1024
  }),
  watchIntervalMillis: Schema.optionalWith(Millis, { default: () => 5000 })
})

/**
 * The Kubernetes provider's configuration as written by a user.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config extends Schema.Schema.Encoded<typeof Config> {}

/** The few fields of a `PodList` this provider reads (others are ignored). */
const PodList = Schema.Struct({
  items: Schema.Array(Schema.Struct({
    metadata: Schema.Struct({
      name: Schema.String,
      deletionTimestamp: Schema.optional(Schema.NullOr(Schema.String))
    }),
    spec: Schema.optional(Schema.Struct({
      containers: Schema.optional(Schema.Array(Schema.Struct({
        ports: Schema.optional(Schema.Array(Schema.Struct({
          name: Schema.optional(Schema.String),
          containerPort: Schema.Int
        })))
      })))
    })),
    status: Schema.optional(Schema.Struct({
      podIP: Schema.optional(Schema.String),
      conditions: Schema.optional(Schema.Array(Schema.Struct({ type: Schema.String, status: Schema.String })))
    }))
  }))
})
type Pod = typeof PodList.Type["items"][number]

const readyPeer = (pod: Pod, portName: string, system: string | undefined): ReadonlyArray<Peer> => {
  const ip = pod.status?.podIP
  const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true
  if (ip === undefined || ip === "" || !ready || (pod.metadata.deletionTimestamp ?? null) !== null) return []
  const port = pod.spec?.containers?.flatMap((container) => container.ports ?? []).find((p) => p.name === portName)
  return port === undefined ? [] : [{ nodeId: pod.metadata.name, address: formatAddress(system, ip, port.containerPort) }]
}

/**
 * The Kubernetes provider as a service (validates `config` first).
 *
 * @example
 * ```ts
 * const discovery = yield* Discovery.Kubernetes.make({ namespace: "shop", labelSelector: "app=shop", portName: "remoting" })
 * const peers = yield* discovery.peers // Ready pods only
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Service, DiscoveryConfigInvalid, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const settings = yield* decodeConfig(provider, Config, config)
    const client = yield* HttpClient.HttpClient
    const unavailable = (reason: string) => new DiscoveryUnavailable({ provider, reason })
    const url = `${settings.apiServer.replace(/\/+$/, "")}/api/v1/namespaces/${settings.namespace}/pods`
    const max = settings.maxResponseBytes

    const token = Effect.tryPromise({
      try: () => readFile(settings.tokenFile, "utf8"),
      catch: (error) => unavailable(`cannot read the token file ${settings.tokenFile}: ${String(error)}`)
    }).pipe(Effect.map((text) => text.trim()))

    const list = Effect.gen(function*() {
      const request = HttpClientRequest.get(url).pipe(
        HttpClientRequest.setUrlParam("labelSelector", settings.labelSelector),
        HttpClientRequest.bearerToken(yield* token),
        HttpClientRequest.acceptJson
      )
      const response = yield* Effect.mapError(client.execute(request), (error) => unavailable(error.message))
      if (response.status !== 200) {
        return yield* Effect.fail(unavailable(`GET ${url} answered ${response.status}`))
      }
      const declared = Number(response.headers["content-length"] ?? "0")
      if (declared > max) return yield* Effect.fail(unavailable(`pod list of ${declared} bytes exceeds ${max}`))
      const body = yield* response.stream.pipe(
        Stream.mapError((error) => unavailable(error.message)),
        Stream.runFoldEffect({ chunks: [] as Array<Uint8Array>, size: 0 }, (acc, chunk) => {
          acc.size += chunk.length
          acc.chunks.push(chunk)
          return acc.size > max
            ? Effect.fail(unavailable(`pod list exceeds ${max} bytes`))
            : Effect.succeed(acc)
        })
      )
      const json = yield* Effect.try({
        try: () => JSON.parse(Buffer.concat(body.chunks).toString("utf8")) as unknown,
        catch: () => unavailable("the pod list is not JSON")
      })
      const pods = yield* Effect.mapError(
        Schema.decodeUnknown(PodList)(json),
        (error) => unavailable(`unexpected pod list: ${error.message}`)
      )
      return normalize(pods.items.flatMap((pod) => readyPeer(pod, settings.portName, settings.system)))
    })

    const peers = list.pipe(
      Effect.timeoutFail({
        duration: settings.timeoutMillis,
        onTimeout: () => unavailable(`no answer from ${settings.apiServer} within ${settings.timeoutMillis} ms`)
      })
    )
    const service: Service = {
      register: () => Effect.void,
      deregister: () => Effect.void,
      peers,
      watch: pollingWatch(peers, settings.watchIntervalMillis)
    }
    return service
  })

/**
 * The Kubernetes provider as the cluster's `Discovery` (needs an `HttpClient`).
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { readFileSync } from "node:fs"
 *
 * Discovery.Kubernetes.layer({ namespace: "shop", labelSelector: "app=shop", portName: "remoting", system: "shop" }).pipe(
 *   Layer.provide(NodeHttpClient.layerWithoutAgent),
 *   Layer.provide(NodeHttpClient.makeAgentLayer({
 *     ca: readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")
 *   }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config): Layer.Layer<Discovery, DiscoveryConfigInvalid, HttpClient.HttpClient> =>
  Layer.effect(Discovery, make(config))
