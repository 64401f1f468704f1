/**
 * Cluster singletons and cluster-unique schedules (FEATURES I9, G3).
 *
 * A singleton is one actor for the whole cluster, keyed by name: every node
 * declares it with `singleton(def, name)`; the oldest live node that has the
 * kind (and the role, if one is asked) runs the one instance, under the fence
 * of the name's directory row (`ctx.fence`); every node gets a reference, a
 * PID that follows the instance wherever it runs. When that node dies, the
 * next oldest takes the name over as soon as the store marks it dead; when it
 * leaves gracefully (or the node closes its singletons), it stops the
 * instance, draining its mailbox, and the next oldest starts it within one
 * look (`checkInterval`). An instance that stops by itself is started again.
 * The instance starts with fresh state on each move: keep what must survive in
 * outside storage, fenced by `ctx.fence`.
 *
 * A schedule with an explicit reference becomes cluster-unique when the
 * scheduler is built with `layerSchedules` in its context: declare it on every
 * node (same reference, message and target, say a singleton's reference);
 * a cron schedule is timed by every node and delivered by one per tick, an
 * interval or one-shot schedule is held by one node like a singleton and
 * resumes, in phase, on another when that node dies or leaves.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Scheduler, Singleton } from "effect-actors"
 *
 * const program = Effect.gen(function*() {
 *   const leader = yield* Singleton.singleton(Leader, "leader")
 *   yield* Scheduler.scheduleCron(new Tick(), leader, "0 * * * * *", { reference: "leader-tick" })
 * })
 * // Singleton.layer() and Scheduler.layer over the node's cluster layers:
 * const Live = Layer.mergeAll(Singleton.layer(), Scheduler.layer.pipe(Layer.provide(Singleton.layerSchedules)))
 * ```
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Schedule, type Scope } from "effect"
import type * as Actor from "../Actor.js"
import { ActorSystem } from "../ActorSystem.js"
import { ActorNotFound, ActorStopped, type InvalidArgument } from "../Errors.js"
import type { Tagged } from "../Message.js"
import type * as Pid from "../Pid.js"
import { Uniqueness } from "../Scheduler.js"
import { type AnyDefinition, implOf } from "../internal/system.js"
import { ClusterStore } from "./ClusterStore.js"
import { AdoptedRequest } from "./internal/directory.js"
import * as clusterSchedule from "./internal/clusterSchedule.js"
import * as internal from "./internal/singleton.js"
import { defaultCheckInterval, fromMembership } from "./internal/singletonSeat.js"
import type { Resolver } from "./internal/singletonRef.js"
import { Membership } from "./Membership.js"

/**
 * Options of one singleton.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Only nodes with this role may run it (they must also have its kind). */
  readonly role?: string | undefined
}

/**
 * Settings of a node's singletons.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** How often a node looks again at the singletons it may run (250 ms): a graceful handover takes the drain plus about this. */
  readonly checkInterval?: Duration.DurationInput | undefined
  /** How long a call through a reference waits for an instance that is moving (10 s). */
  readonly relocationWait?: Duration.DurationInput | undefined
}

/**
 * The singletons of one node.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Declares the singleton `name` (call it on every node; calling it again
   * answers the same reference) and answers its reference. Fails with
   * `InvalidArgument` when the name is already declared here with another
   * kind or role. The instance gets the services of the first caller's
   * context.
   */
  singleton<M extends Tagged, S, R>(
    definition: Actor.Definition<M, S, R>,
    name: string,
    options?: Options
  ): Effect.Effect<Pid.Pid<M>, InvalidArgument, R>
  /** The names declared on this node. */
  readonly declared: Effect.Effect<ReadonlyArray<string>>
}

/**
 * The singletons of this node.
 *
 * @example
 * ```ts
 * const leader = yield* Effect.flatMap(Singleton.Singletons, (s) => s.singleton(Leader, "leader"))
 * ```
 * @since 0.1.0
 * @category tags
 */
export class Singletons extends Context.Tag("effect-actors/Singletons")<Singletons, Service>() {}

/** Errors after which nothing was processed: resolve the name again and retry. */
const isStale = (error: unknown): boolean => error instanceof ActorNotFound || error instanceof ActorStopped

/** Resolves names through the actor system (which asks the cluster's directory for names it does not run). */
const systemResolver = (system: ActorSystem["Type"], relocationWait: Duration.Duration): Resolver => {
  const retry = Schedule.exponential("10 millis", 1.5).pipe(
    Schedule.union(Schedule.spaced("200 millis")),
    Schedule.upTo(relocationWait)
  )
  const pid = (name: string) =>
    Effect.flatMap(system.lookup(name), (found) =>
      Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(new ActorNotFound({ actorName: name })))
  const via = <A, E>(name: string, f: (pid: Pid.Pid) => Effect.Effect<A, E>) =>
    Effect.retry(Effect.flatMap(pid(name), f), { while: isStale, schedule: retry })
  return {
    pid: (name) => Effect.retry(pid(name), { schedule: retry }),
    tell: (name, message) => via(name, (found) => found.tell(message)),
    ask: (name, message, options) => via(name, (found) => (found as Pid.Pid<Tagged & never>).ask(message as never, options))
  }
}

/**
 * Starts this node's singletons; closing the scope stops the instances it
 * runs and hands them over.
 *
 * @example
 * ```ts
 * const singletons = yield* Singleton.make()
 * const leader = yield* singletons.singleton(Leader, "leader")
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: Config = {}
): Effect.Effect<Service, never, ActorSystem | Membership | ClusterStore | Scope.Scope> =>
  Effect.gen(function*() {
    const system = yield* ActorSystem
    const membership = yield* Membership
    const store = yield* ClusterStore
    const impl = implOf(system)
    if (impl === undefined) return yield* Effect.dieMessage("Singleton: the ActorSystem has no machinery")
    const singletons = yield* internal.make({
      seat: fromMembership(membership, store, config.checkInterval ?? defaultCheckInterval),
      system: system.name,
      resolver: systemResolver(system, Duration.decode(config.relocationWait ?? Duration.seconds(10)))
    })
    return {
      singleton: <M extends Tagged, S, R>(definition: Actor.Definition<M, S, R>, name: string, options?: Options) =>
        Effect.flatMap(Effect.context<R>(), (context) =>
          singletons.singleton(
            definition as unknown as AnyDefinition,
            name,
            options,
            // The row is already this node's: the directory binds the instance to its fence.
            (fence) =>
              Effect.provide(impl.spawn(definition, name, undefined, undefined, new AdoptedRequest(fence)), context)
          )) as Effect.Effect<Pid.Pid<M>, InvalidArgument, R>,
      declared: Effect.sync(() => singletons.declared())
    }
  })

/**
 * This node's singletons as a layer, over the node's cluster (its actor
 * system, `Membership` and `ClusterStore`).
 *
 * @example
 * ```ts
 * const Live = Singleton.layer().pipe(Layer.provideMerge(ClusterLive))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config = {}): Layer.Layer<Singletons, never, ActorSystem | Membership | ClusterStore> =>
  Layer.scoped(Singletons, make(config))

/**
 * Declares a singleton with the singletons of the context (see `Service.singleton`).
 *
 * @example
 * ```ts
 * const leader = yield* Singleton.singleton(Leader, "leader")
 * yield* leader.tell(new Elect())
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const singleton = <M extends Tagged, S, R>(
  definition: Actor.Definition<M, S, R>,
  name: string,
  options?: Options
): Effect.Effect<Pid.Pid<M>, InvalidArgument, R | Singletons> =>
  Effect.flatMap(Singletons, (singletons) => singletons.singleton(definition, name, options))

/**
 * Makes the schedules of `Scheduler.make` (or `Scheduler.layer`) built over
 * it cluster-unique when they have an explicit reference (see the module
 * documentation).
 *
 * @example
 * ```ts
 * const SchedulerLive = Scheduler.layer.pipe(Layer.provide(Singleton.layerSchedules))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerSchedules: Layer.Layer<Uniqueness, never, Membership | ClusterStore> = Layer.effect(
  Uniqueness,
  Effect.map(
    Effect.all([Membership, ClusterStore]),
    ([membership, store]) => clusterSchedule.uniqueness(fromMembership(membership, store))
  )
)
