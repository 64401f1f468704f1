/**
 * The actor system: an Effect service, built by a `Layer`, that spawns,
 * finds and stops actors, and publishes their events and deadletters.
 * Closing the layer's scope stops every actor (children first, each drained
 * within the shutdown timeout), runs every `postStop` once, and leaves no
 * fiber running; an actor whose handler cannot be interrupted is abandoned
 * once the shutdown timeout has passed (`ActorStopped` with reason
 * `Abandoned`), so closing never hangs.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ActorSystem } from "effect-actors"
 *
 * const program = Effect.gen(function*() {
 *   const system = yield* ActorSystem.ActorSystem
 *   const counter = yield* system.spawn(Counter, "counter")
 *   yield* counter.tell(new Increment({ by: 2 }))
 *   console.log(yield* counter.ask(new GetCount()))
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(ActorSystem.layer({ name: "demo" }))))
 * ```
 * @since 0.1.0
 */
import {
  Config,
  type ConfigError,
  Context,
  Duration,
  Effect,
  FiberRef,
  HashSet,
  Layer,
  type Logger,
  Option,
  type Queue,
  Runtime,
  RuntimeFlags,
  Schedule,
  type Scope,
  Stream
} from "effect"
import type * as Actor from "./Actor.js"
import * as Address from "./Address.js"
import {
  ActorNotFound,
  InvalidArgument,
  InvalidName,
  NodeUnreachable,
  type RemoteError,
  type SpawnError
} from "./Errors.js"
import type * as Events from "./EventStream.js"
import * as Mailbox from "./Mailbox.js"
import type * as Metrics from "./Metrics.js"
import type { Tagged } from "./Message.js"
import { type Pid, Resolver } from "./Pid.js"
import * as Supervisor from "./Supervisor.js"
import * as Checks from "./internal/config.js"
import { resolverOf } from "./internal/resolver.js"
import { implKey, implOf, invalidName, SystemImpl } from "./internal/system.js"

/**
 * Settings of an actor system. Every field but `name` has a default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The system's name: part of every address. */
  readonly name: string
  /** The default mailbox (unbounded). */
  readonly mailbox?: Mailbox.MailboxFactory
  /** The default supervisor strategy (`Supervisor.stop`). */
  readonly supervisor?: Supervisor.Strategy
  /** Stop actors idle for this long (2 minutes); `"never"` turns passivation off. */
  readonly passivateAfter?: Duration.DurationInput | "never"
  /**
   * How long a graceful stop may drain a mailbox before the handler is
   * interrupted and what is left becomes deadletters (10 seconds); it also
   * bounds `postStop` and the wait for an interrupted handler, past which the
   * actor is abandoned (`ActorStopped` with reason `Abandoned`).
   */
  readonly shutdownTimeout?: Duration.DurationInput
  /** The default ask timeout (5 seconds). */
  readonly askTimeout?: Duration.DurationInput
  /** How many messages an actor may stash (1,000). */
  readonly stashCapacity?: number
  /** Metric export settings (see `Metrics`): interval, per-actor series, processing time. */
  readonly metrics?: Metrics.Options
  /** Each event subscriber's buffer: 4,096 events, sliding (see `EventStream.BufferOptions`). */
  readonly eventBuffer?: Events.BufferOptions
  /** A logger for the actors' fibers (default: the logger of the fiber that builds the layer). */
  readonly logger?: Logger.Logger<unknown, unknown>
}

/**
 * Errors a spawn can fail with (defined in `Errors`, re-exported here beside
 * `spawn`).
 *
 * @since 0.1.0
 * @category errors
 */
export type { SpawnError } from "./Errors.js"

/**
 * What the system offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The system's name. */
  readonly name: string
  /**
   * Spawns a top-level actor. Names are unique among top-level actors: a
   * taken name fails with `NameTaken` (see `Errors.NameTaken` for why we do
   * not hand back the existing PID).
   */
  spawn<M extends Tagged, S, R>(
    definition: Actor.Definition<M, S, R>,
    name: string,
    options?: Actor.SpawnOptions
  ): Effect.Effect<Pid<M>, SpawnError, R>
  /**
   * Finds a live actor by name (or `parent/child` path). The PID is untyped: sends are checked at run time.
   * In a cluster, a top-level name not found here is looked up in the cluster directory (the PID may be remote).
   */
  lookup(name: string): Effect.Effect<Option.Option<Pid>>
  /** Every live actor, parents before children. */
  readonly actors: Effect.Effect<ReadonlyArray<Pid>>
  /** How many actors are alive. */
  readonly count: Effect.Effect<number>
  /** Stops an actor by name, gracefully. */
  stop(name: string): Effect.Effect<void, ActorNotFound>
  /** Stops an actor by name at once (its mailbox goes to deadletters). */
  kill(name: string): Effect.Effect<void, ActorNotFound>
  /** Restarts an actor by name (see `Pid.restart`). */
  respawn(name: string): Effect.Effect<void, ActorNotFound | import("./Errors.js").AskError>
  /** Subscribes to events; the queue is live when this returns and closes with the scope. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<Events.Event>, never, Scope.Scope>
  /** The events as a stream (subscribed when the stream starts). */
  readonly events: Stream.Stream<Events.Event>
  /** How many deadletters were published since the start. */
  readonly deadletters: Effect.Effect<number>
  /** Actor count, deadletters and messages processed; also exports them to Effect's metric registry. */
  readonly metrics: Effect.Effect<Metrics.SystemMetrics>
  /**
   * Finds an actor on another node by address (`effect-actors://sys@host:port/name`)
   * or by `{ host, port, name }`. Needs the remoting layer (`Remoting.layer`);
   * a missing name is `Option.none()`, a node that does not answer (or a
   * system without remoting) `NodeUnreachable`. The PID is untyped; use
   * `Remoting.lookup(address, Definition)` for a typed one.
   */
  remoteLookup(
    address: Address.Address | string | { readonly host: string; readonly port: number; readonly name: string }
  ): Effect.Effect<Option.Option<Pid>, RemoteError>
}

/**
 * The actor system service.
 *
 * @since 0.1.0
 * @category tags
 */
export class ActorSystem extends Context.Tag("effect-actors/ActorSystem")<ActorSystem, Service>() {}

/**
 * Builds an actor system in the current scope; closing the scope shuts it
 * down.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ActorSystem } from "effect-actors"
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const system = yield* ActorSystem.make({ name: "demo", askTimeout: "1 second" })
 *   yield* system.count
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, InvalidName | InvalidArgument, Scope.Scope> =>
  Effect.gen(function*() {
    const invalid = invalidName(options.name)
    if (invalid !== undefined) return yield* Effect.fail(new InvalidName({ value: options.name, reason: invalid }))
    const wrong = invalidOptions(options)
    if (wrong !== undefined) return yield* Effect.fail(new InvalidArgument({ reason: wrong }))
    const clock = yield* Effect.clock
    // Workers and timers are forked from this runtime. They must be interruptible even when the system is built in
    // an uninterruptible region (an acquireRelease), or kill and the shutdown timeout could not stop a busy handler.
    let runtime = Runtime.enableRuntimeFlag(yield* Effect.runtime<never>(), RuntimeFlags.Interruption)
    if (options.logger !== undefined) {
      runtime = Runtime.setFiberRef(runtime, FiberRef.currentLoggers, HashSet.make(options.logger))
    }
    const passivate = options.passivateAfter ?? "2 minutes"
    const impl = new SystemImpl({
      name: options.name,
      defaults: {
        mailbox: options.mailbox ?? Mailbox.unbounded,
        supervisor: options.supervisor ?? Supervisor.stop,
        passivateMillis: passivate === "never" ? 0 : Duration.toMillis(Duration.decode(passivate)),
        stashCapacity: options.stashCapacity ?? 1000
      },
      askTimeout: Duration.decode(options.askTimeout ?? "5 seconds"),
      shutdownTimeout: Duration.decode(options.shutdownTimeout ?? "10 seconds"),
      metrics: options.metrics,
      eventBuffer: options.eventBuffer
    }, runtime, clock)
    yield* Effect.addFinalizer(() => impl.shutdown())
    const interval = options.metrics?.interval
    if (interval !== undefined) {
      yield* Effect.forkScoped(
        Effect.sync(() => impl.exportMetrics()).pipe(Effect.repeat(Schedule.spaced(interval)))
      )
    }
    return fromImpl(impl)
  })

/** What is wrong with the options, or undefined (`config` applies the same checks to each key). */
const invalidOptions = (options: Options): string | undefined =>
  Checks.invalid("askTimeout", options.askTimeout, Checks.positiveDuration) ??
    Checks.invalid("shutdownTimeout", options.shutdownTimeout, Checks.positiveDuration) ??
    Checks.invalid("passivateAfter", options.passivateAfter, Checks.positiveDurationOrNever) ??
    Checks.invalid("stashCapacity", options.stashCapacity, Checks.nonNegativeInteger) ??
    Checks.invalid("metrics.interval", options.metrics?.interval, Checks.positiveDuration) ??
    Checks.invalid("eventBuffer.capacity", options.eventBuffer?.capacity, Checks.positiveInteger)

const fromImpl = (impl: SystemImpl): Service => {
  const found = (name: string) =>
    Effect.suspend(() => {
      const cell = impl.lookup(name)
      return cell === undefined ? Effect.fail(new ActorNotFound({ actorName: name })) : Effect.succeed(cell)
    })
  const service: Service = {
    name: impl.name,
    spawn: (definition, name, options) => impl.spawn(definition, name, options, undefined),
    lookup: (name) =>
      Effect.suspend(() => {
        const cell = impl.lookup(name)
        if (cell !== undefined) return Effect.succeed(Option.some(cell.pid))
        // In a cluster, a top-level name may live on another node.
        const cluster = impl.cluster
        return cluster === undefined || name.includes("/") ? Effect.succeed(Option.none()) : cluster.lookup(name)
      }),
    actors: Effect.sync(() => impl.list().map((cell) => cell.pid)),
    count: Effect.sync(() => impl.live),
    stop: (name) => Effect.flatMap(found(name), (cell) => cell.pid.stop),
    kill: (name) => Effect.flatMap(found(name), (cell) => cell.pid.kill),
    respawn: (name) => Effect.flatMap(found(name), (cell) => cell.pid.restart),
    subscribe: impl.bus.subscribe(),
    events: Stream.unwrapScoped(Effect.map(impl.bus.subscribe(), (queue) => Stream.fromQueue(queue))),
    deadletters: Effect.sync(() => impl.deadletterCount),
    metrics: Effect.sync(() => impl.exportMetrics()),
    remoteLookup: (address) =>
      Effect.suspend(() => {
        const parsed = typeof address === "string"
          ? Address.parse(address)
          : address instanceof Address.Address
          ? address
          : Address.make({ system: "", host: address.host, port: address.port, path: address.name.split("/") })
        const node = parsed === undefined ? String(address) : `${parsed.host}:${parsed.port}`
        if (impl.remote === undefined) {
          return Effect.fail(new NodeUnreachable({ node, reason: "remoting is not enabled on this system" }))
        }
        if (parsed === undefined || parsed.host === "") {
          return Effect.fail(new NodeUnreachable({ node, reason: "not the address of a remote actor" }))
        }
        return impl.remote.lookup(parsed)
      })
  }
  // The remoting layer reaches the machinery through this hidden key.
  Object.defineProperty(service, implKey, { value: impl, enumerable: false })
  return service
}

/**
 * The actor system as a layer.
 *
 * @example
 * ```ts
 * import { ActorSystem } from "effect-actors"
 * const SystemLive = ActorSystem.layer({ name: "shop", passivateAfter: "never" })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<ActorSystem | Resolver, InvalidName | InvalidArgument> =>
  Layer.scopedContext(Effect.map(make(options), (service) =>
    // `make` always builds the service from a SystemImpl (see `fromImpl`).
    Context.make(ActorSystem, service).pipe(Context.add(Resolver, resolverOf(implOf(service)!)))))

/**
 * An actor system's options read from `Config`, one key per option:
 * `name` (required), `askTimeout`, `shutdownTimeout`, `passivateAfter` (a
 * duration or `never`), `stashCapacity`, `mailboxCapacity` (a bounded
 * mailbox of that size; unbounded when absent), under `metrics`:
 * `interval`, `perActor`, `processingTime`, and under `eventBuffer`:
 * `capacity`, `strategy` (`sliding` or `dropping`). Durations are written as Effect
 * reads them (`"5 seconds"`, `"200 millis"`). Each key gets the checks that
 * `make` applies to options, so a wrong value fails with a `ConfigError`
 * naming its key. Nest it to read prefixed keys, and read the environment
 * in constant case (`ACTORS_ASK_TIMEOUT`, `ACTORS_METRICS_INTERVAL`).
 *
 * @example
 * ```ts
 * import { Config, ConfigProvider, Layer } from "effect"
 * import { ActorSystem } from "effect-actors"
 *
 * // ACTORS_NAME=shop ACTORS_ASK_TIMEOUT="2 seconds" ACTORS_PASSIVATE_AFTER=never
 * const SystemLive = ActorSystem.layerConfig(Config.nested(ActorSystem.config, "actors")).pipe(
 *   Layer.provide(Layer.setConfigProvider(ConfigProvider.fromEnv().pipe(ConfigProvider.constantCase)))
 * )
 * ```
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.map(
  Config.all({
    name: Checks.checked(Config.string("name"), invalidName),
    settings: Checks.optional({
      askTimeout: Checks.checked(Config.duration("askTimeout"), Checks.positiveDuration),
      shutdownTimeout: Checks.checked(Config.duration("shutdownTimeout"), Checks.positiveDuration),
      passivateAfter: Checks.checked(Checks.durationOrNever("passivateAfter"), Checks.positiveDurationOrNever),
      stashCapacity: Checks.checked(Config.integer("stashCapacity"), Checks.nonNegativeInteger),
      mailboxCapacity: Checks.checked(Config.integer("mailboxCapacity"), Checks.positiveInteger),
      metrics: Config.nested(
        Checks.optional({
          interval: Checks.checked(Config.duration("interval"), Checks.positiveDuration),
          perActor: Config.boolean("perActor"),
          processingTime: Config.boolean("processingTime")
        }),
        "metrics"
      ),
      eventBuffer: Config.nested(
        Checks.optional({
          capacity: Checks.checked(Config.integer("capacity"), Checks.positiveInteger),
          strategy: Config.literal("sliding", "dropping")("strategy")
        }),
        "eventBuffer"
      )
    })
  }),
  ({ name, settings: { mailboxCapacity, ...settings } }): Options => ({
    name,
    ...settings,
    ...(mailboxCapacity === undefined ? {} : { mailbox: Mailbox.bounded(mailboxCapacity) })
  })
)

/**
 * The actor system as a layer whose options come from `Config` (by default
 * {@link config}): a node configured from its environment. Options that are
 * code rather than text (a supervisor, a custom mailbox, a logger) are added
 * with `Config.map`, or given as `Config.succeed` in a record of configs.
 * A wrong value fails the layer with a `ConfigError` naming the key (or, for
 * a record of your own configs, the `InvalidArgument` / `InvalidName` of
 * `make`).
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { ActorSystem, Supervisor } from "effect-actors"
 *
 * // Keys `name`, `askTimeout`, ... at the top level of the ConfigProvider:
 * const FromEnv = ActorSystem.layerConfig()
 * // Your own keys, and a strategy from code:
 * const Custom = ActorSystem.layerConfig({
 *   name: Config.string("NODE_NAME"),
 *   shutdownTimeout: Config.duration("STOP_TIMEOUT").pipe(Config.withDefault("30 seconds")),
 *   supervisor: Config.succeed(Supervisor.restart())
 * })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options> = config
): Layer.Layer<ActorSystem | Resolver, ConfigError.ConfigError | InvalidName | InvalidArgument> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

/**
 * Spawns a top-level actor in the system of the context.
 *
 * @example
 * ```ts
 * import { ActorSystem } from "effect-actors"
 * // const pid = yield* ActorSystem.spawn(Counter, "counter")
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const spawn = <M extends Tagged, S, R>(
  definition: Actor.Definition<M, S, R>,
  name: string,
  options?: Actor.SpawnOptions
): Effect.Effect<Pid<M>, SpawnError, R | ActorSystem> =>
  Effect.flatMap(ActorSystem, (system) => system.spawn(definition, name, options))

/**
 * Finds a live actor by name in the system of the context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const lookup = (name: string): Effect.Effect<Option.Option<Pid>, never, ActorSystem> =>
  Effect.flatMap(ActorSystem, (system) => system.lookup(name))

/**
 * Subscribes to the events of the system of the context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const subscribe: Effect.Effect<Queue.Dequeue<Events.Event>, never, ActorSystem | Scope.Scope> = Effect
  .flatMap(ActorSystem, (system) => system.subscribe)
