/**
 * The actor system's machinery: the registry of top-level actors, spawning,
 * deadletters, events and shutdown.
 *
 * @internal
 */
import { type Clock, Context, Duration, Effect, Effectable, Exit, FiberRef, FiberRefs, type HashMap, Metric, MetricLabel, type Option, type Runtime } from "effect"
import type * as Actor from "../Actor.js"
import type { Address } from "../Address.js"
import {
  ActorStopped,
  type ClusterSuspended,
  InvalidName,
  NameTaken,
  type RemoteError,
  SpawnFailed,
  type SpawnError
} from "../Errors.js"
import * as Events from "../EventStream.js"
import * as Metrics from "../Metrics.js"
import type { MailboxFactory } from "../Mailbox.js"
import type { Tagged } from "../Message.js"
import type * as Pid from "../Pid.js"
import type { Strategy } from "../Supervisor.js"
import { Cell } from "./cell.js"
import { type CellOptions, FINALIZING, KILLED, RUNNING, SCHEDULED, STOPPED } from "./cell/status.js"
import { finalize, requestStop, stopChildren, stopFromOutside } from "./cell/stopping.js"
import { runPreStart } from "./cell/supervision.js"
import { Dispatcher } from "./dispatcher.js"
import { defaultBuffer, EventBus } from "./eventBus.js"
import { currentContext } from "./effectInternals.js"
import { Timers } from "./timers.js"

export type AnyDefinition = Actor.Definition<Tagged, unknown, unknown>


/** Letters and digits. */
const isAlphanumeric = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)

/**
 * Whether a name is `[A-Za-z0-9][A-Za-z0-9_.~-]*`: checked per character,
 * several times cheaper than the regular expression on every spawn.
 */
const isWellFormed = (name: string): boolean => {
  if (!isAlphanumeric(name.charCodeAt(0))) return false
  for (let i = 1; i < name.length; i++) {
    const c = name.charCodeAt(i)
    // _ . ~ -
    if (!isAlphanumeric(c) && c !== 95 && c !== 46 && c !== 126 && c !== 45) return false
  }
  return true
}

/** Why a name is invalid, or undefined when it is fine. */
export const invalidName = (name: string): string | undefined => {
  if (typeof name !== "string" || name.length === 0) return "a name cannot be empty"
  if (name.length > 255) return "a name has at most 255 characters"
  if (!isWellFormed(name)) return "a name starts with a letter or digit and holds only letters, digits and _ . ~ -"
  return undefined
}

/** @internal */
export interface SystemSettings {
  readonly name: string
  readonly defaults: CellOptions
  readonly askTimeout: Duration.Duration
  readonly shutdownTimeout: Duration.Duration
  readonly metrics?: Metrics.Options | undefined
  readonly eventBuffer?: Events.BufferOptions | undefined
}

/**
 * What the remoting layer plugs into a system (`src/Remoting`); `undefined`
 * on a system without remoting. Kept as an interface here so the core never
 * imports the layers above it.
 *
 * @internal
 */
export interface RemoteHooks {
  /** Finds an actor on another node by its address. */
  lookup(address: Address): Effect.Effect<Option.Option<Pid.Pid>, RemoteError>
  /** The PID of an actor on another node, without connecting (see `Pid.Resolver`). */
  pid(address: Address): Pid.Pid
  /** `watcher` watches a PID that is not local. */
  watch(watcher: Cell, target: Pid.Pid<never>): void
  /** `watcher` cancels its watch of a PID that is not local. */
  unwatch(watcher: Cell, target: Pid.Pid<never>): void
  /** A local cell stopped: notify its remote watchers, drop its remote watches. */
  stopped(cell: Cell, reason: string): void
  /**
   * Watches a remote PID for a component that is not an actor (the
   * scheduler): `onTerminated` gets the stop reason, or a reason starting
   * with `NodeUnreachable` when the node was lost (the watch is then gone).
   * Returns the cancel, or undefined when `target` is not remote.
   */
  watchRemote(target: Pid.Pid<never>, onTerminated: (reason: string) => void): (() => void) | undefined
}

/**
 * What the cluster layer plugs into a system (`src/Cluster`); `undefined` on
 * a system outside a cluster. With it, every top-level name is a cluster-wide
 * name: its spawn claims it in the cluster's directory before it commits, and
 * its stop releases it. Kept as an interface here so the core never imports
 * the layers above it.
 *
 * @internal
 */
export interface ClusterHooks {
  /**
   * Claims `name` for this node before its spawn commits and answers the
   * fence the claim drew. `request` is what the spawner passed along
   * (`undefined` for a plain `ActorSystem.spawn`): spawn options that travel
   * with the name, or the fence of a row this node already adopted.
   */
  claim(
    name: string,
    def: AnyDefinition,
    request: unknown
  ): Effect.Effect<number, NameTaken | SpawnFailed | ClusterSuspended>
  /** A claimed name got its cell (before `preStart`, so `ctx.fence` reads it there). */
  bind(cell: Cell, fence: number): void
  /** A claim whose spawn failed before its cell was registered. */
  abandon(name: string, fence: number): void
  /** A top-level cell left the registry (stop, kill, passivation, failed `preStart`): release its name. */
  unbind(cell: Cell): void
  /** Finds a name that is not in the local registry: on another node, through the directory. */
  lookup(name: string): Effect.Effect<Option.Option<Pid.Pid>>
  /** The fence of a top-level cluster actor. */
  fence(cell: Cell): number | undefined
  /**
   * Remoting lost its connection to `node` (`host:port`) or could not
   * deliver to it: names it holds are re-resolved instead of being sent
   * into the void.
   */
  unreachable(node: string): void
  /**
   * Whether the cluster reserves `name` for itself (a grain's name, which
   * starts with `~`: never a user's name): such a name is valid although it
   * does not match the pattern of actor names.
   */
  reserved(name: string): boolean
  /** The grains of this node, for remoting (messages to a grain that is not active here). */
  readonly grains?: GrainHooks | undefined
}

/**
 * What remoting asks of a node's grains (virtual actors) when a message
 * arrives for a name that no local cell holds.
 *
 * @internal
 */
export interface GrainHooks {
  /** The definition of a grain name whose kind this node runs, else undefined (not a grain, or not here). */
  definition(name: string): AnyDefinition | undefined
  /** Whether an activation of `name` is in flight here: messages for it queue behind it. */
  pending(name: string): boolean
  /**
   * Runs `use` with the grain's cell once it is active here (activating it
   * if needed), or `fail` with why it could not be (`GrainMoved` to where it
   * is active, `TooManyGrains`, `ClusterSuspended`); calls for one name run
   * in the order they were made.
   */
  withCell(name: string, use: (cell: Cell) => void, fail: (error: unknown) => void): void
}

/**
 * The cluster request of a framework actor that must stay out of the
 * cluster's directory (TestKit probes): a top-level name of this node
 * only, never claimed, so nodes do not contend for it.
 */
export const localOnly: unique symbol = Symbol.for("effect-actors/internal/localOnly")

/** The symbol under which an `ActorSystem` service carries its `SystemImpl`. */
export const implKey: unique symbol = Symbol.for("effect-actors/internal/SystemImpl")

/** The `SystemImpl` behind an `ActorSystem` service (for the remoting layer). */
export const implOf = (service: object): SystemImpl | undefined =>
  (service as { readonly [implKey]?: SystemImpl })[implKey]

/** @internal */
export class SystemImpl {
  readonly name: string
  host = ""
  port = 0
  /** Set by the remoting layer. */
  remote: RemoteHooks | undefined = undefined
  /** Set by the cluster layer. */
  cluster: ClusterHooks | undefined = undefined
  readonly timers: Timers
  readonly dispatcher: Dispatcher
  readonly askTimeoutMillis: number
  readonly shutdownTimeout: Duration.Duration
  readonly defaults: CellOptions
  readonly top = new Map<string, Cell>()
  readonly bus: EventBus
  live = 0
  deadletterCount = 0
  /** Messages processed by every actor, ever. */
  processed = 0
  /** Restarts of every actor, ever. */
  restarts = 0
  /** Whether cells record each message's processing time. */
  readonly processingTime: boolean
  /** Whether `exportMetrics` writes one series per actor. */
  readonly perActorMetrics: boolean
  private readonly exported = { deadletters: 0, processed: 0, eventsMissed: 0, restarts: 0 }
  private readonly systemTags: ReadonlyArray<MetricLabel.MetricLabel>
  /** The processing-time histogram with this system's tag (its registry hook is resolved once, on first use). */
  private readonly processingHistogram: Metric.Metric.Histogram<number>
  closing = false

  /** The log annotations of the fiber that built the system; actors add theirs. */
  readonly logAnnotations: HashMap.HashMap<string, unknown>

  constructor(settings: SystemSettings, runtime: Runtime.Runtime<never>, clock: Clock.Clock) {
    this.logAnnotations = FiberRefs.getOrDefault(runtime.fiberRefs, FiberRef.currentLogAnnotations)
    this.name = settings.name
    this.defaults = settings.defaults
    this.askTimeoutMillis = Duration.toMillis(settings.askTimeout)
    this.shutdownTimeout = settings.shutdownTimeout
    this.processingTime = settings.metrics?.processingTime ?? false
    this.perActorMetrics = settings.metrics?.perActor ?? false
    this.systemTags = [MetricLabel.make("system", settings.name)]
    this.processingHistogram = Metrics.processingTime.pipe(Metric.tagged("system", settings.name))
    this.bus = new EventBus({ ...defaultBuffer, ...settings.eventBuffer })
    this.timers = new Timers(clock, runtime)
    this.dispatcher = new Dispatcher(runtime, 32)
  }

  spawn<M extends Tagged, S, R>(
    def: Actor.Definition<M, S, R>,
    name: string,
    options: Actor.SpawnOptions | undefined,
    parent: Cell | undefined,
    clusterRequest?: unknown
  ): Effect.Effect<Pid.Pid<M>, SpawnError, R> {
    return new SpawnEffect(
      this,
      def as unknown as AnyDefinition,
      name,
      options,
      parent,
      clusterRequest
    ) as unknown as Effect.Effect<Pid.Pid<M>, SpawnError, R>
  }

  /**
   * The body of a spawn, run by `SpawnEffect` with the spawner's context. In
   * a cluster a top-level name is claimed first: the spawn commits only
   * after the directory row did, and a failed spawn gives the name back.
   */
  spawnIn<M extends Tagged, S, R>(
    context: Context.Context<R>,
    def: Actor.Definition<M, S, R>,
    name: string,
    options: Actor.SpawnOptions | undefined,
    parent: Cell | undefined,
    clusterRequest?: unknown
  ): Effect.Effect<Pid.Pid<M>, SpawnError> {
    const cluster = this.cluster
    if (parent !== undefined || cluster === undefined || clusterRequest === localOnly) {
      return this.spawnLocal(context, def, name, options, parent)
    }
    const reserved = cluster.reserved(name)
    const refused = this.refuseSpawn(name, parent, reserved)
    if (refused !== undefined) return refused
    return Effect.flatMap(
      cluster.claim(name, def as unknown as AnyDefinition, clusterRequest),
      (fence) =>
        Effect.tapErrorCause(
          this.spawnLocal(context, def, name, options, parent, fence, reserved),
          () => Effect.sync(() => cluster.abandon(name, fence))
        )
    )
  }

  /** Why a spawn is refused before anything is claimed or built, if it is. */
  private refuseSpawn(
    name: string,
    parent: Cell | undefined,
    reserved = false
  ): Effect.Effect<never, SpawnError> | undefined {
    const invalid = reserved ? undefined : invalidName(name)
    if (invalid !== undefined) return Effect.fail(new InvalidName({ value: name, reason: invalid }))
    if (this.closing) return Effect.fail(new ActorStopped({ address: `effect-actors://${this.name}` }))
    // A parent may spawn children from its preStart (status 0, starting).
    if (parent !== undefined && parent.status > RUNNING) {
      return Effect.fail(new ActorStopped({ address: parent.addressString() }))
    }
    const existing = parent === undefined ? this.top.get(name) : parent.x?.children?.get(name)
    if (existing !== undefined) {
      return Effect.fail(new NameTaken({ actorName: name, address: existing.addressString() }))
    }
    return undefined
  }

  private spawnLocal<M extends Tagged, S, R>(
    context: Context.Context<R>,
    def: Actor.Definition<M, S, R>,
    name: string,
    options: Actor.SpawnOptions | undefined,
    parent: Cell | undefined,
    fence?: number,
    reserved = false
  ): Effect.Effect<Pid.Pid<M>, SpawnError> {
    const refused = this.refuseSpawn(name, parent, reserved)
    if (refused !== undefined) return refused
    const cell = new Cell(
      this,
      def as unknown as AnyDefinition,
      name,
      parent,
      context as Context.Context<never>,
      this.resolveOptions(def.options, options, parent)
    )
    if (parent === undefined) {
      this.top.set(name, cell)
      if (fence !== undefined) this.cluster?.bind(cell, fence)
    } else parent.addChild(cell)
    this.live++
    try {
      cell.state = def.initialState()
    } catch (error) {
      this.unregister(cell)
      cell.status = STOPPED
      return Effect.fail(new SpawnFailed({ actorName: name, reason: "initialState threw", cause: error }))
    }
    if (def.preStart === undefined) {
      this.started(cell)
      return Effect.succeed(cell.pid as unknown as Pid.Pid<M>)
    }
    return Effect.flatMap(Effect.exit(runPreStart(cell)), (exit): Effect.Effect<Pid.Pid<M>, SpawnError> => {
      if (Exit.isFailure(exit)) {
        this.unregister(cell)
        cell.status = STOPPED
        // Children spawned by the failed preStart stop with it.
        return Effect.zipRight(
          stopChildren(cell, "ParentStopped"),
          Effect.fail(new SpawnFailed({ actorName: name, reason: "preStart failed", cause: exit.cause }))
        )
      }
      if (this.closing) {
        // The system shut down while preStart ran: no worker is left, so stop the actor here and refuse the spawn.
        return Effect.zipRight(finalize(cell), Effect.fail(new ActorStopped({ address: cell.addressString() })))
      }
      this.started(cell)
      return Effect.succeed(cell.pid as unknown as Pid.Pid<M>)
    })
  }

  private started(cell: Cell): void {
    cell.status = RUNNING
    if (this.bus.wants("ActorStarted")) this.publish(new Events.ActorStarted({ address: cell.address }))
    if (cell.parent !== undefined && this.bus.wants("ActorChildCreated")) {
      this.publish(new Events.ActorChildCreated({ parent: cell.parent.address, child: cell.address }))
    }
    if ((cell.flags & KILLED) !== 0) {
      // Stopped while preStart ran.
      cell.flags &= ~KILLED
      requestStop(cell, true, cell.extras.stopReason ?? "Stopped")
      return
    }
    // System messages count too: a child spawned by preStart may already have stopped (its Terminated waits).
    if ((cell.mailboxSize > 0 || (cell.x?.system?.length ?? 0) > 0) && (cell.flags & SCHEDULED) === 0) {
      cell.flags |= SCHEDULED
      this.dispatcher.schedule(cell)
    } else {
      cell.armPassivation()
    }
  }

  private resolveOptions(
    fromDefinition: Actor.SpawnOptions,
    fromSpawn: Actor.SpawnOptions | undefined,
    parent: Cell | undefined
  ): CellOptions {
    const defaults = this.defaults
    const inherited = parent?.options.supervisor ?? defaults.supervisor
    const mailbox: MailboxFactory = fromSpawn?.mailbox ?? fromDefinition.mailbox ?? defaults.mailbox
    const supervisor: Strategy = fromSpawn?.supervisor ?? fromDefinition.supervisor ?? inherited
    const passivate = fromSpawn?.passivateAfter ?? fromDefinition.passivateAfter
    const passivateMillis = passivate === undefined
      ? defaults.passivateMillis
      : passivate === "never"
      ? 0
      : Duration.toMillis(Duration.decode(passivate))
    const stashCapacity = fromSpawn?.stashCapacity ?? fromDefinition.stashCapacity ?? defaults.stashCapacity
    if (
      mailbox === defaults.mailbox && supervisor === defaults.supervisor &&
      passivateMillis === defaults.passivateMillis && stashCapacity === defaults.stashCapacity
    ) {
      return defaults
    }
    return { mailbox, supervisor, passivateMillis, stashCapacity }
  }

  unregister(cell: Cell): void {
    this.live--
    // While the system closes, or the parent finalizes, the whole map goes at once: no delete per actor.
    if (cell.parent === undefined) {
      if (this.top.get(cell.name) === cell) {
        if (!this.closing) this.top.delete(cell.name)
        this.cluster?.unbind(cell)
      }
    } else if ((cell.parent.flags & FINALIZING) === 0) {
      const siblings = cell.parent.x?.children
      if (siblings?.get(cell.name) === cell) siblings.delete(cell.name)
    }
  }

  /** Finds a live actor by name, or by path (`parent/child`). */
  lookup(path: string): Cell | undefined {
    if (path.indexOf("/") < 0) {
      // A top-level name (every lookup by name, and every send by name, in a cluster): no array.
      const cell = this.top.get(path)
      return cell !== undefined && cell.alive ? cell : undefined
    }
    const parts = path.split("/")
    let cell = this.top.get(parts[0] ?? "")
    for (let i = 1; i < parts.length && cell !== undefined; i++) {
      cell = cell.x?.children?.get(parts[i] ?? "")
    }
    return cell !== undefined && cell.alive ? cell : undefined
  }

  /** Every live actor, parents before their children. */
  list(): Array<Cell> {
    const out: Array<Cell> = []
    const visit = (cells: Iterable<Cell>) => {
      for (const cell of cells) {
        if (!cell.alive) continue
        out.push(cell)
        const children = cell.x?.children
        if (children !== undefined) visit(children.values())
      }
    }
    visit(this.top.values())
    return out
  }

  deadletter(cell: Cell, message: unknown, sender: Pid.Pid<never> | undefined, reason: string): void {
    this.deadletterCount++
    if (this.bus.wants("Deadletter")) {
      this.bus.publish(
        new Events.Deadletter({ recipient: cell.address, sender: sender?.address, message, reason })
      )
    }
  }

  /** One message's processing time (only with `metrics.processingTime`). */
  recordProcessing(nanos: number): void {
    this.processingHistogram.unsafeUpdate(nanos / 1e6, [])
  }

  /** Writes the counters to Effect's metric registry (see `Metrics`). */
  exportMetrics(): Metrics.SystemMetrics {
    const tags = this.systemTags
    Metrics.actors.unsafeUpdate(this.live, tags)
    Metrics.actorRestarts.unsafeUpdate(this.restarts - this.exported.restarts, tags)
    this.exported.restarts = this.restarts
    let waiting = 0
    for (const cell of this.top.values()) waiting += cell.mailboxSize
    Metrics.mailboxDepth.unsafeUpdate(waiting, tags)
    Metrics.deadletters.unsafeUpdate(this.deadletterCount - this.exported.deadletters, tags)
    Metrics.messagesProcessed.unsafeUpdate(this.processed - this.exported.processed, tags)
    const eventsMissed = this.bus.missed
    Metrics.eventsMissed.unsafeUpdate(eventsMissed - this.exported.eventsMissed, tags)
    this.exported.deadletters = this.deadletterCount
    this.exported.processed = this.processed
    this.exported.eventsMissed = eventsMissed
    if (this.perActorMetrics) {
      for (const cell of this.list()) {
        const m = cell.snapshot()
        const actorTags = [...tags, MetricLabel.make("actor", m.address)]
        Metrics.actorProcessed.unsafeUpdate(m.processed, actorTags)
        Metrics.mailboxSize.unsafeUpdate(m.mailboxSize, actorTags)
        Metrics.restarts.unsafeUpdate(m.restarts, actorTags)
        Metrics.children.unsafeUpdate(m.children, actorTags)
        Metrics.stashSize.unsafeUpdate(m.stashSize, actorTags)
        if (m.lastProcessingMillis._tag === "Some") {
          Metrics.lastProcessingMillis.unsafeUpdate(m.lastProcessingMillis.value, actorTags)
        }
      }
    }
    return { actors: this.live, deadletters: this.deadletterCount, processed: this.processed, eventsMissed }
  }

  publish(event: Events.Event): void {
    if (this.bus.wants(event._tag)) this.bus.publish(event)
  }

  /**
   * Stops every actor (children first), then the workers and the timer. Idle
   * actors stop right here, without a fiber each; the wait for the others is
   * bounded by the shutdown timeout (see `cell/stopping.ts`).
   */
  shutdown(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closing = true
      const pending: Array<Effect.Effect<void>> = []
      for (const cell of [...this.top.values()]) {
        const rest = stopFromOutside(cell, false, "SystemShutdown")
        if (rest !== undefined) pending.push(rest)
      }
      return Effect.all(pending, { concurrency: "unbounded", discard: true })
    }).pipe(
      Effect.zipRight(Effect.sync(() => this.top.clear())),
      Effect.zipRight(Effect.suspend(() => this.timers.close())),
      Effect.zipRight(Effect.suspend(() => this.dispatcher.close()))
    )
  }
}

/**
 * A spawn as one small object whose `commit` reads the spawner's context from
 * the running fiber: cheaper than `Effect.contextWithEffect` (no status
 * object, no closure), which matters when spawning actors by the hundred
 * thousand.
 */
class SpawnEffect extends Effectable.Class<Pid.Pid<Tagged>, SpawnError> {
  constructor(
    readonly system: SystemImpl,
    readonly def: AnyDefinition,
    readonly name: string,
    readonly options: Actor.SpawnOptions | undefined,
    readonly parent: Cell | undefined,
    readonly clusterRequest: unknown
  ) {
    super()
  }
  commit(): Effect.Effect<Pid.Pid<Tagged>, SpawnError> {
    const context = currentContext()
    return this.system.spawnIn(
      context as Context.Context<unknown>,
      this.def,
      this.name,
      this.options,
      this.parent,
      this.clusterRequest
    )
  }
}
