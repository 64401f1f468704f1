/**
 * The operator's view of a node or a whole cluster: an HTTP endpoint that
 * serves a live page, a JSON API, a server-sent-events stream of the same
 * every second, and the actions an operator needs (stop an actor, drain a
 * node, tell or ask an actor a JSON message). The `effect-actors` CLI talks
 * to the same endpoint.
 *
 * Off by default: add `Dashboard.layer` to a node. It listens on 127.0.0.1
 * (a free port unless `port` is given) and, when the node's remoting has a
 * token (or `token` is given), asks for it: `Authorization: Bearer <token>`,
 * or a cookie set by opening `/?token=<token>` once.
 *
 * In a cluster, the snapshot lists every live member from this node's
 * membership view and asks each one for its own report over the remoting
 * wire (its reporter actor `ea.dashboard`, which `Dashboard.layer` and
 * `Dashboard.layerReporter` spawn); a node that does not answer is shown with
 * the names the store's directory gives it. See `docs/observability.md`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { ActorSystem, Dashboard } from "effect-actors"
 *
 * const Node = Dashboard.layer({ port: 9300 }).pipe(Layer.provideMerge(ActorSystem.layer({ name: "shop" })))
 * const program = Effect.gen(function*() {
 *   const dashboard = yield* Dashboard.Dashboard
 *   console.log(`dashboard: ${dashboard.url}`)
 * })
 * ```
 * @since 0.1.0
 */
import type { ServeError } from "@effect/platform/HttpServerError"
import { Context, Duration, Effect, Layer, Option, Schedule, type Scope, Stream } from "effect"
import { createServer } from "node:http"
import { ActorSystem } from "../ActorSystem.js"
import { Cluster } from "../Cluster/Cluster.js"
import { ClusterStore } from "../Cluster/ClusterStore.js"
import { InvalidArgument } from "../Errors.js"
import { Node as RemoteNode } from "../Remoting/internal/node.js"
import { Scheduler } from "../Scheduler.js"
import { implOf, type SystemImpl } from "../internal/system.js"
import { makeApp } from "./internal/http.js"
import * as model from "./internal/model.js"
import { DashboardNode } from "./internal/node.js"
import { deliverLocal, reporter, reporterName } from "./internal/operations.js"
import { Sampler, sampledEvents } from "./internal/sampler.js"

/**
 * The whole view: every live node with its report (`Schema`; the JSON of
 * `GET /api/snapshot` and of each server-sent event).
 *
 * @since 0.1.0
 * @category models
 */
export const Snapshot = model.Snapshot
/** @since 0.1.0 */
export type Snapshot = model.Snapshot

/**
 * One node in the snapshot: membership (status, epoch, lease age, address,
 * roles), whether it answered, its report, or the names the directory gives
 * it when it did not answer.
 *
 * @since 0.1.0
 * @category models
 */
export const NodeReport = model.NodeReport
/** @since 0.1.0 */
export type NodeReport = model.NodeReport

/**
 * What one node reports about itself: its actors, throughput, deadletters
 * (rate and the latest few), schedules and resident grains.
 *
 * @since 0.1.0
 * @category models
 */
export const LocalReport = model.LocalReport
/** @since 0.1.0 */
export type LocalReport = model.LocalReport

/**
 * One actor: kind, mailbox depth, messages per second, restarts, last
 * failure, passivation deadline, fence.
 *
 * @since 0.1.0
 * @category models
 */
export const ActorReport = model.ActorReport
/** @since 0.1.0 */
export type ActorReport = model.ActorReport

/**
 * A grain resident on a node, as the grain layer reports it (see
 * `ResidentGrains`).
 *
 * @since 0.1.0
 * @category models
 */
export const GrainReport = model.GrainReport
/** @since 0.1.0 */
export type GrainReport = model.GrainReport

/**
 * An operation (tell, ask, stop, drain, lookup) that could not be done:
 * what, on which actor or node, why, and the HTTP status it answers with.
 *
 * @example
 * ```ts
 * // { "error": "OperationFailed", "message": "ask counter failed: the message does not match Counter's protocol ..." }
 * ```
 * @since 0.1.0
 * @category errors
 */
export const OperationFailed = model.OperationFailed
/** @since 0.1.0 */
export type OperationFailed = model.OperationFailed

/**
 * Where the dashboard finds the grains resident on this node, when given.
 * Without it, the dashboard lists the grains it finds among the node's
 * actors (cluster names `~Kind~~id`), with their activation time as first
 * seen by the sampler (to within one `interval`).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Dashboard } from "effect-actors"
 * const Grains = Layer.succeed(Dashboard.ResidentGrains, { resident: Effect.succeed([]) })
 * ```
 * @since 0.1.0
 * @category tags
 */
export class ResidentGrains extends Context.Tag("effect-actors/Dashboard/ResidentGrains")<ResidentGrains, {
  readonly resident: Effect.Effect<ReadonlyArray<GrainReport>>
}>() {}

/**
 * Dashboard settings; all optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The port (0, the default: a free one; read it back from `Dashboard.port`). */
  readonly port?: number
  /** The interface to listen on (127.0.0.1). */
  readonly host?: string
  /** The token asked of clients (default: the node's remoting token; none without one). */
  readonly token?: string
  /** How often reports are sampled and events sent (1 second). */
  readonly interval?: Duration.DurationInput
  /** How long a peer has to answer for the snapshot (1 second). */
  readonly peerTimeout?: Duration.DurationInput
  /** Most actors listed per node (2,000; the count is always exact). */
  readonly maxActors?: number
  /** How many recent deadletters each node keeps (20). */
  readonly deadletterTail?: number
  /** The largest request body (64 KiB). */
  readonly maxBodyBytes?: number
  /** Event streams open at once (16). */
  readonly maxStreams?: number
  /**
   * Host names the `Host` header may carry (guards against DNS rebinding).
   * Default: the loopback names when listening on a loopback address, else any.
   */
  readonly allowedHosts?: ReadonlyArray<string>
}

/**
 * A running dashboard.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Where the page is (`http://127.0.0.1:9300/`). */
  readonly url: string
  readonly port: number
  /** The cluster-wide snapshot, as served. */
  readonly snapshot: Effect.Effect<Snapshot>
  /** This node's latest report. */
  readonly report: Effect.Effect<LocalReport>
}

/**
 * The dashboard of the context.
 *
 * @since 0.1.0
 * @category tags
 */
export class Dashboard extends Context.Tag("effect-actors/Dashboard")<Dashboard, Service>() {}

const loopback = ["127.0.0.1", "localhost", "::1"]

interface Resolved {
  readonly port: number
  readonly host: string
  readonly interval: Duration.Duration
  readonly peerTimeout: Duration.Duration
  readonly maxActors: number
  readonly deadletterTail: number
  readonly maxBodyBytes: number
  readonly maxStreams: number
}

const resolve = (options: Options): Effect.Effect<Resolved, InvalidArgument> =>
  Effect.suspend(() => {
    const resolved: Resolved = {
      port: options.port ?? 0,
      host: options.host ?? "127.0.0.1",
      interval: Duration.decode(options.interval ?? "1 second"),
      peerTimeout: Duration.decode(options.peerTimeout ?? "1 second"),
      maxActors: options.maxActors ?? 2000,
      deadletterTail: options.deadletterTail ?? 20,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
      maxStreams: options.maxStreams ?? 16
    }
    const count = (n: number) => Number.isInteger(n) && n > 0
    const problem = !(Number.isInteger(resolved.port) && resolved.port >= 0 && resolved.port < 65536)
      ? `port must be an integer in 0..65535, got ${resolved.port}`
      : !(Duration.toMillis(resolved.interval) > 0 && Duration.toMillis(resolved.peerTimeout) > 0)
      ? "interval and peerTimeout must be positive"
      : ![resolved.maxActors, resolved.deadletterTail, resolved.maxBodyBytes, resolved.maxStreams].every(count)
      ? "maxActors, deadletterTail, maxBodyBytes and maxStreams must be positive integers"
      : undefined
    return problem === undefined
      ? Effect.succeed(resolved)
      : Effect.fail(new InvalidArgument({ reason: `Dashboard: ${problem}` }))
  })

/** The sampler and the reporter actor of this node; what both `make` and `layerReporter` need. */
const startNode = (settings: Resolved) =>
  Effect.gen(function*() {
    const system = yield* ActorSystem
    // `ActorSystem.make` always builds the service from a SystemImpl.
    const impl = implOf(system) as SystemImpl
    const cluster = yield* Effect.serviceOption(Cluster)
    const store = yield* Effect.serviceOption(ClusterStore)
    const scheduler = yield* Effect.serviceOption(Scheduler)
    const grains = yield* Effect.serviceOption(ResidentGrains)
    const address = impl.remote === undefined ? "" : `${impl.host}:${impl.port}`
    const sampler = new Sampler(impl, settings, address)
    const events = yield* impl.bus.subscribe(sampledEvents)
    yield* Stream.fromQueue(events).pipe(
      Stream.runForEach((event) => Effect.sync(() => sampler.onEvent(event))),
      Effect.forkScoped
    )
    const sample = Effect.gen(function*() {
      const schedules = Option.isSome(scheduler) ? yield* scheduler.value.list : []
      const resident = Option.isSome(grains) ? yield* grains.value.resident : undefined
      return sampler.sample(schedules, resident)
    })
    yield* Effect.forkScoped(Effect.repeat(sample, Schedule.spaced(settings.interval)))
    const latest = Effect.sync(() => sampler.latest)
    // Built before the node that serves it: the reporter's `drain` needs the node, the node needs its definition.
    let node: DashboardNode | undefined = undefined
    const def = reporter({
      report: latest,
      drain: Effect.suspend(() => (node as DashboardNode).drainSelf),
      deliver: (name, json, ask) => deliverLocal(impl, name, json, ask)
    })
    node = new DashboardNode(impl, system, latest, cluster, store, def, settings)
    if (impl.lookup(reporterName) === undefined) {
      // Every node runs one: spawned outside the cluster directory, like the cluster's control actor.
      const hooks = impl.cluster
      impl.cluster = undefined
      const spawned = yield* Effect.exit(system.spawn(def, reporterName))
      impl.cluster = hooks
      if (spawned._tag === "Success") {
        const pid = spawned.value
        yield* Effect.addFinalizer(() => Effect.ignore(pid.stop))
      }
    }
    return { impl, node, latest }
  })

/**
 * Starts the dashboard in the current scope: the sampler, the reporter actor
 * and the HTTP server. Build it after the node's `Cluster` (and `Scheduler`)
 * layers so it sees them.
 *
 * @example
 * ```ts
 * const dashboard = yield* Dashboard.make({ port: 0 })
 * console.log(dashboard.url)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Service, ServeError | InvalidArgument, ActorSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* resolve(options)
    const { impl, latest, node } = yield* startNode(settings)
    const remote = impl.remote
    const token = options.token ?? (remote instanceof RemoteNode ? remote.pool.settings.token : undefined)
    const hosts = (options.allowedHosts ?? (loopback.includes(settings.host) ? loopback : [])).map((h) =>
      h.toLowerCase()
    )
    const app = makeApp(node, { ...settings, token, hosts })
    const { NodeHttpServer } = yield* Effect.promise(() => import("@effect/platform-node"))
    const server = yield* NodeHttpServer.make(() => createServer(), { port: settings.port, host: settings.host })
    yield* server.serve(app)
    const port = server.address._tag === "TcpAddress" ? server.address.port : settings.port
    const shown = settings.host.includes(":") ? `[${settings.host}]` : settings.host
    return { url: `http://${shown}:${port}/`, port, snapshot: node.snapshot, report: latest }
  })

/**
 * The dashboard as a layer (see `make`).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { ActorSystem, Dashboard } from "effect-actors"
 * const Live = Dashboard.layer({ port: 9300 }).pipe(Layer.provideMerge(ActorSystem.layer({ name: "shop" })))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Dashboard, ServeError | InvalidArgument, ActorSystem> =>
  Layer.scoped(Dashboard, make(options))

/**
 * Only the reporter: this node serves no page but answers the dashboards of
 * other nodes (its actors, throughput, deadletters, schedules), and accepts
 * their actions. For cluster nodes where one or two nodes run the page.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Dashboard } from "effect-actors"
 * const Worker = Dashboard.layerReporter().pipe(Layer.provideMerge(WorkerNode))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerReporter = (
  options: Pick<Options, "interval" | "maxActors" | "deadletterTail" | "peerTimeout"> = {}
): Layer.Layer<never, InvalidArgument, ActorSystem> =>
  Layer.scopedDiscard(Effect.flatMap(resolve(options), startNode))
