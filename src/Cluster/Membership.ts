/**
 * Who is in the cluster, and whether this node may run cluster actors now.
 *
 * A node joins the store under a new **epoch** (one lease per incarnation)
 * and renews its lease every `heartbeat`. It **suspends** (state
 * `suspended`, event `ClusterSuspended`) at `t_send(last renewal) + ttl −
 * margin` on its own `Clock`, strictly before anyone could declare it dead,
 * whatever the store does; it resumes when a renewal succeeds, and rejoins
 * under a new epoch if the store answers that it was declared dead. A reaper
 * declares expired leases dead, but only on a node whose own lease has been
 * valid for `ttl` without a break, so an outage of the store for everyone
 * moves nothing. On one host, a node whose process is provably gone is
 * declared dead at once.
 *
 * The view of the members is a `SubscriptionRef`, diffed into `NodeJoined` /
 * `NodeLeft` events on the actor system's event stream, in the same order on
 * every node (the store's membership version).
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, type Scope, type Subscribable } from "effect"
import { ActorSystem } from "../ActorSystem.js"
import { InvalidArgument } from "../Errors.js"
import type { StoreUnavailable } from "./ClusterError.js"
import { ClusterStore, type Incarnation, type View } from "./ClusterStore.js"
import { Discovery } from "./Discovery.js"
import * as internal from "./internal/membership.js"

/**
 * Membership options. Times default to CLUSTER.md's: ttl 5 s, heartbeat 1 s,
 * margin 1 s, reaper every 500 ms.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** Stable id of the node (kept across restarts; each start gets a new epoch). */
  readonly nodeId: string
  /** Where remoting reaches it (`host:port`); "" without remoting. */
  readonly address?: string | undefined
  /** The actor kinds it can run (for placement). */
  readonly kinds?: ReadonlyArray<string> | undefined
  readonly roles?: ReadonlyArray<string> | undefined
  /** Lease length on the store's clock. */
  readonly ttl?: Duration.DurationInput | undefined
  /** Renewal period; also the timeout of each store call. Must be below `ttl − margin`. */
  readonly heartbeat?: Duration.DurationInput | undefined
  /** How long before its lease could expire a node stops its cluster actors (clock drift + handler interruption). */
  readonly margin?: Duration.DurationInput | undefined
  /** How often the reaper looks for expired leases and re-reads the view. */
  readonly reapInterval?: Duration.DurationInput | undefined
  /** Declare a node on this host dead as soon as its process is gone (Linux; default true). */
  readonly sameHostProof?: boolean | undefined
  /** Dead or left incarnations holding no actors are deleted after this long (default 1 hour). */
  readonly pruneAfter?: Duration.DurationInput | undefined
}

/**
 * `Config` with every default applied, validated.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedConfig {
  readonly nodeId: string
  readonly address: string
  readonly kinds: ReadonlyArray<string>
  readonly roles: ReadonlyArray<string>
  readonly ttl: Duration.Duration
  readonly heartbeat: Duration.Duration
  readonly margin: Duration.Duration
  readonly reapInterval: Duration.Duration
  readonly sameHostProof: boolean
  readonly pruneAfter: Duration.Duration
}

/**
 * Where this node stands: `up` (runs cluster actors), `suspended` (its lease
 * could not be renewed in time: cluster actors must not run), `leaving`
 * (graceful leave under way, still active), `left`.
 *
 * @since 0.1.0
 * @category models
 */
export type NodeState = "up" | "suspended" | "leaving" | "left"

/**
 * The membership service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly config: ResolvedConfig
  /** This node's current incarnation (a new epoch after each rejoin). */
  readonly self: Subscribable.Subscribable<Incarnation>
  readonly state: Subscribable.Subscribable<NodeState>
  /** The last view read from the store (every incarnation it holds, by seniority). */
  readonly view: Subscribable.Subscribable<View>
  /**
   * Whether cluster actors may run at this instant: `up` or `leaving`, and
   * before the self-fencing deadline (checked on the `Clock`, not on the
   * last event, so it is exact even if the deadline fiber is late).
   */
  readonly active: Effect.Effect<boolean>
  /** Marks this incarnation `leaving` (graceful leave begins; it stays active). */
  readonly leaving: Effect.Effect<boolean, StoreUnavailable>
  /** Leaves for good: `left` in the store, heartbeats stop, discovery deregistered. Also run when the scope closes. */
  readonly leave: Effect.Effect<void>
  /**
   * Runs the reaper now rather than at its next tick (the cluster calls it
   * when remoting loses a connection to a member: on one host, a killed
   * process is then declared dead at once).
   */
  readonly reapNow: Effect.Effect<void>
}

/**
 * The membership of this node.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Membership } from "effect-actors"
 *
 * const active = Effect.flatMap(Membership.Membership, (membership) => membership.active)
 * ```
 * @since 0.1.0
 * @category tags
 */
export class Membership extends Context.Tag("effect-actors/Membership")<Membership, Service>() {}

/**
 * Applies the defaults and checks the timings: all positive, `margin < ttl`
 * and `heartbeat < ttl − margin` (so a renewal can land before the deadline).
 *
 * @example
 * ```ts
 * Membership.resolveConfig({ nodeId: "a", ttl: "3 seconds" }) // Effect<ResolvedConfig, InvalidArgument>
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const resolveConfig = (config: Config): Effect.Effect<ResolvedConfig, InvalidArgument> =>
  Effect.suspend(() => {
    const resolved: ResolvedConfig = {
      nodeId: config.nodeId,
      address: config.address ?? "",
      kinds: config.kinds ?? [],
      roles: config.roles ?? [],
      ttl: Duration.decode(config.ttl ?? "5 seconds"),
      heartbeat: Duration.decode(config.heartbeat ?? "1 second"),
      margin: Duration.decode(config.margin ?? "1 second"),
      reapInterval: Duration.decode(config.reapInterval ?? "500 millis"),
      sameHostProof: config.sameHostProof ?? true,
      pruneAfter: Duration.decode(config.pruneAfter ?? "1 hour")
    }
    const ms = (d: Duration.Duration) => Duration.toMillis(d)
    const problem = resolved.nodeId === ""
      ? "nodeId must not be empty"
      : [resolved.ttl, resolved.heartbeat, resolved.margin, resolved.reapInterval, resolved.pruneAfter].some((d) =>
          !(ms(d) > 0 && Number.isFinite(ms(d)))
        )
      ? "ttl, heartbeat, margin, reapInterval and pruneAfter must be positive and finite"
      : ms(resolved.margin) >= ms(resolved.ttl)
      ? `margin (${ms(resolved.margin)} ms) must be below ttl (${ms(resolved.ttl)} ms)`
      : ms(resolved.heartbeat) >= ms(resolved.ttl) - ms(resolved.margin)
      ? `heartbeat (${ms(resolved.heartbeat)} ms) must be below ttl − margin (${ms(resolved.ttl) - ms(resolved.margin)} ms)`
      : undefined
    return problem === undefined
      ? Effect.succeed(resolved)
      : Effect.fail(new InvalidArgument({ reason: `Membership: ${problem}` }))
  })

/**
 * Joins the cluster in the current scope (closing it leaves): needs the
 * `ClusterStore`, `Discovery` and the `ActorSystem` whose event stream gets
 * the membership events.
 *
 * @example
 * ```ts
 * const membership = yield* Membership.make({ nodeId: "a", address: "127.0.0.1:7000" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: Config
): Effect.Effect<
  Service,
  StoreUnavailable | InvalidArgument,
  ClusterStore | Discovery | ActorSystem | Scope.Scope
> =>
  Effect.gen(function*() {
    const resolved = yield* resolveConfig(config)
    return yield* internal.make(resolved, yield* ClusterStore, yield* Discovery, yield* ActorSystem)
  })

/**
 * The membership as a layer.
 *
 * @example
 * ```ts
 * Membership.layer({ nodeId: "a" }).pipe(
 *   Layer.provide(ClusterStore.layerSqlite({ filename: "cluster.db" })),
 *   Layer.provide(Discovery.layerStatic([])),
 *   Layer.provide(ActorSystem.layer({ name: "app" }))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: Config
): Layer.Layer<Membership, StoreUnavailable | InvalidArgument, ClusterStore | Discovery | ActorSystem> =>
  Layer.scoped(Membership, make(config))
