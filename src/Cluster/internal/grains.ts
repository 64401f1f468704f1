/**
 * Grains (virtual actors) on one node: the host that activates them here
 * and the router that sends to them from here.
 *
 * A grain's reference is a cluster name (`grainName.ts`) that no spawn
 * ever created. Its first message goes to the grain's owner: rendezvous
 * over the live (`up`) members that run its kind, computed from the view
 * without a store call. The owner activates it: one `claim` (the only store
 * write of an activation; messages cost none), then a spawn under the
 * claim's fence. Messages that arrive while it activates wait behind the
 * activation, in order. When the claim answers that another live node holds
 * the name (the view changed since it was activated there), the owner
 * answers `GrainMoved` with that node's address: the sender follows it (at
 * most `maxHops`) and remembers it until the view changes.
 *
 * Idle passivation stops the grain and releases its row (as any cluster
 * actor's stop does). After its node dies, the grain's row is dropped by the
 * redeployment (grains are claimed with `relocate = false` unless their kind
 * is eager), and its next message activates it on its new owner: lazily.
 *
 * At most `maxResident` grains live on a node: one more activation fails
 * with `TooManyGrains`, before any store call.
 *
 * @internal
 */
import { Duration, Effect, Either, Runtime, Schedule } from "effect"
import type * as Actor from "../../Actor.js"
import * as Address from "../../Address.js"
import { ActorNotFound, ActorStopped, ClusterSuspended, GrainMoved, KindNotRegistered, TooManyGrains } from "../../Errors.js"
import type { Tagged } from "../../Message.js"
import type * as Pid from "../../Pid.js"
import type { Cell } from "../../internal/cell.js"
import type { AnyDefinition, GrainHooks } from "../../internal/system.js"
import { type Directory, incarnationKey, parseNodeAddress, TravelRequest } from "./directory.js"
import * as GrainName from "./grainName.js"
import type { Placement } from "./rendezvous.js"
import { NameRef } from "./singletonRef.js"
import * as Travel from "./travel.js"

/** How one node runs grains. */
export interface GrainSettings {
  /** Grains resident on this node at most; one more activation fails with `TooManyGrains`. */
  readonly maxResident: number
  /** Idle time after which a grain whose definition sets no passivation stops. */
  readonly passivateAfter: Duration.Duration
  /** Kinds whose grains survivors re-activate at once when their node dies (others come back on their next message). */
  readonly eager: ReadonlySet<string>
  /** Redirects a message follows at most. */
  readonly maxHops: number
  /** How long a message waits for a grain whose node is suspended or whose activation is being undone. */
  readonly relocationWait: Duration.Duration
}

/** The defaults of `GrainSettings`. */
export const defaultGrainSettings: GrainSettings = {
  maxResident: 100_000,
  passivateAfter: Duration.minutes(5),
  eager: new Set(),
  maxHops: 3,
  relocationWait: Duration.seconds(10)
}

interface Waiter {
  readonly use: (cell: Cell) => void
  readonly fail: (error: unknown) => void
}

/** Where a grain's messages go from here: this node's host, or a remote PID. */
type Route = "local" | Pid.Pid

const tagOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "_tag" in error ? error._tag : undefined

/** Errors after which nothing was processed and another try may succeed. */
const isTransient = (error: unknown): boolean => {
  const tag = tagOf(error)
  return tag === "ActorNotFound" || tag === "ActorStopped" || tag === "ClusterSuspended"
}

/** A claim answered `Taken` by this very incarnation: a passivated activation's release is still in flight. */
class StillReleasing {
  readonly _tag = "StillReleasing"
}

export class Grains implements GrainHooks {
  /** Activations in flight here, with the calls waiting behind each. */
  private readonly waiting = new Map<string, Array<Waiter>>()
  /** Grains active here. */
  private readonly resident = new Set<Cell>()
  /** Where grains are active, learned from redirects and the view, valid for one view version. */
  private routes = new Map<string, Route>()
  /** Where grains this node was asked to activate are active instead, for the same view version. */
  private moved = new Map<string, GrainMoved>()
  private routesVersion = -1
  /** The spawn options and claim request of each kind's activations (`travelOf`). */
  private readonly travels = new Map<AnyDefinition, { readonly options: Actor.SpawnOptions; readonly request: TravelRequest }>()
  private readonly retry: Schedule.Schedule<unknown, unknown>

  constructor(
    readonly directory: Directory,
    readonly placement: Placement,
    readonly settings: GrainSettings,
    private readonly runtime: Runtime.Runtime<never>,
    /** The PID of an actor address on another node. */
    private readonly pidAt: (address: Address.Address, def: AnyDefinition | undefined) => Pid.Pid | undefined
  ) {
    this.retry = Schedule.exponential("5 millis", 1.5).pipe(
      Schedule.union(Schedule.spaced("100 millis")),
      Schedule.upTo(settings.relocationWait)
    )
  }

  private get impl() {
    return this.directory.impl
  }

  /** Grains active on this node now. */
  get residentCount(): number {
    return this.resident.size
  }

  // ------------------------------------------------------------ the host

  bound(cell: Cell): void {
    this.resident.add(cell)
    // Active here now: whatever this node learned of it elsewhere is stale (and two nodes
    // can never point at each other, so forwarded tells cannot loop).
    this.routes.delete(cell.name)
    this.moved.delete(cell.name)
  }

  unbound(cell: Cell): void {
    this.resident.delete(cell)
  }

  definition(name: string): AnyDefinition | undefined {
    const grain = GrainName.decode(name)
    return grain === undefined ? undefined : this.directory.kinds.get(grain.kind)
  }

  pending(name: string): boolean {
    return this.waiting.has(name)
  }

  withCell(name: string, use: (cell: Cell) => void, fail: (error: unknown) => void): void {
    const queue = this.waiting.get(name)
    if (queue !== undefined) {
      queue.push({ use, fail })
      return
    }
    const cell = this.impl.lookup(name)
    if (cell !== undefined) return use(cell)
    // Active elsewhere, as a claim answered earlier in this view: no store call per message.
    const moved = this.movedTo(name)
    if (moved !== undefined) return fail(moved)
    const def = this.definition(name)
    if (def === undefined) {
      const kind = GrainName.decode(name)?.kind
      return fail(
        kind === undefined
          ? new ActorNotFound({ actorName: name })
          : new KindNotRegistered({ kind, node: this.directory.port.self.nodeId })
      )
    }
    this.waiting.set(name, [{ use, fail }])
    Runtime.runFork(this.runtime)(Effect.matchEffect(this.activate(name, def), {
      onFailure: (error) =>
        Effect.sync(() => {
          if (error instanceof GrainMoved) this.remember(name, error)
          this.flush(name, (waiter) => waiter.fail(error))
        }),
      onSuccess: (activated) => Effect.sync(() => this.flush(name, (waiter) => waiter.use(activated)))
    }))
  }

  /** Runs the calls that waited for an activation, in order, with nothing in between. */
  private flush(name: string, run: (waiter: Waiter) => void): void {
    const queue = this.waiting.get(name) ?? []
    this.waiting.delete(name)
    for (const waiter of queue) run(waiter)
  }

  /** Activates a grain here: one claim, then a spawn under its fence. */
  private activate(name: string, def: AnyDefinition): Effect.Effect<Cell, unknown> {
    const self = this.directory.port.self.nodeId
    const attempt = Effect.suspend((): Effect.Effect<Cell, unknown> => {
      if (this.directory.port.suspended) return Effect.fail(new ClusterSuspended({ node: self, actorName: name }))
      if (this.resident.size >= this.settings.maxResident) {
        return Effect.fail(new TooManyGrains({ node: self, grain: GrainName.describe(name), limit: this.settings.maxResident }))
      }
      const { options, request } = this.travelOf(def)
      const spawn = this.impl.spawn(def, name, options, undefined, request)
      return Effect.matchEffect(spawn as unknown as Effect.Effect<Pid.Pid, { readonly _tag: string }>, {
        onSuccess: () => this.cellOf(name),
        onFailure: (error): Effect.Effect<Cell, unknown> => {
          if (error._tag !== "NameTaken") return Effect.fail(error)
          const taken = error as unknown as { readonly node?: string | undefined; readonly address: string }
          // Taken here (a spawn racing ours committed first): use it.
          if (taken.node === undefined) return this.cellOf(name)
          if (taken.node === self) return Effect.fail(new StillReleasing())
          return Effect.fail(new GrainMoved({ grain: GrainName.describe(name), node: taken.node, address: taken.address }))
        }
      })
    })
    return Effect.retry(attempt, {
      while: (error) => error instanceof StillReleasing,
      schedule: this.retry
    }).pipe(
      Effect.catchIf((error) => error instanceof StillReleasing, () =>
        Effect.fail(new ClusterSuspended({ node: self, actorName: name })))
    )
  }

  /** What an activation of `def` spawns with and claims with: the same for every grain of the kind, built once. */
  private travelOf(def: AnyDefinition): { readonly options: Actor.SpawnOptions; readonly request: TravelRequest } {
    const known = this.travels.get(def)
    if (known !== undefined) return known
    const travel: Travel.Travel = {
      relocate: this.settings.eager.has(def.kind),
      ...(def.options.passivateAfter === undefined
        ? { passivateAfterMillis: Math.max(1, Math.round(Duration.toMillis(this.settings.passivateAfter))) }
        : {})
    }
    const built = { options: Travel.toSpawnOptions(travel), request: new TravelRequest(travel) }
    this.travels.set(def, built)
    return built
  }

  private cellOf(name: string): Effect.Effect<Cell, ActorStopped> {
    return Effect.suspend(() => {
      const cell = this.impl.lookup(name)
      return cell === undefined
        ? Effect.fail(new ActorStopped({ address: `effect-actors://${this.impl.name}/${name}` }))
        : Effect.succeed(cell)
    })
  }

  // ---------------------------------------------------------- the router

  /** The reference of a grain: a PID that reaches its activation wherever it is, activating it when needed. */
  ref(def: AnyDefinition, id: string): Either.Either<Pid.Pid, import("../../Errors.js").InvalidArgument> {
    return Either.map(GrainName.encode(def.kind, id), (name) =>
      new NameRef(name, this.impl.name, {
        tell: (grain, message) => this.send(grain, def, (pid) => pid.tell(message)),
        ask: (grain, message, options) =>
          this.send(grain, def, (pid) => (pid as Pid.Pid<Tagged & never>).ask(message as never, options)),
        pid: (grain) => this.send(grain, def, (pid) => Effect.succeed(pid)) as never
      }) as Pid.Pid)
  }

  /**
   * Runs `f` on the PID of the grain's activation; follows redirects, retries
   * what nothing processed. A grain that is active here or whose route is
   * known takes the short way: `f` on that PID, and only its failure enters
   * the machinery below (a retry schedule per call cost ten times the ask).
   */
  send<A, E>(name: string, def: AnyDefinition, f: (pid: Pid.Pid) => Effect.Effect<A, E>): Effect.Effect<A, unknown> {
    return Effect.suspend(() => {
      const pid = this.known(name)
      if (pid === undefined) return this.sendRouted(name, def, f, 0)
      return Effect.catchAll(f(pid), (error) => {
        if (error instanceof GrainMoved) {
          if (this.settings.maxHops < 1) return Effect.fail(error)
          this.redirect(name, error, def)
          return this.sendRouted(name, def, f, 1)
        }
        if (!isTransient(error)) return Effect.fail(error)
        this.forget(name)
        return this.sendRouted(name, def, f, 0)
      })
    })
  }

  /** The PID of the grain's activation when it is known without waiting: active here, or a remembered route. */
  private known(name: string): Pid.Pid | undefined {
    const here = this.activeHere(name)
    if (here !== undefined) return here
    this.fresh()
    const route = this.routes.get(name)
    return route === undefined || route === "local" ? undefined : route
  }

  private sendRouted<A, E>(
    name: string,
    def: AnyDefinition,
    f: (pid: Pid.Pid) => Effect.Effect<A, E>,
    firstHop: number
  ): Effect.Effect<A, unknown> {
    const once = (hops: number): Effect.Effect<A, unknown> =>
      Effect.flatMap(Effect.suspend(() => this.target(name, def)), f).pipe(
        Effect.catchIf((error): error is GrainMoved => error instanceof GrainMoved, (moved) => {
          if (hops >= this.settings.maxHops) return Effect.fail(moved)
          this.redirect(name, moved, def)
          return once(hops + 1)
        })
      )
    return once(firstHop).pipe(
      Effect.tapError((error) => Effect.sync(() => isTransient(error) && this.forget(name))),
      Effect.retry({ while: isTransient, schedule: this.retry })
    )
  }

  /** The PID to send to now: the local activation (activated first if needed), or a remote one. */
  private target(name: string, def: AnyDefinition): Effect.Effect<Pid.Pid, unknown> {
    const here = this.activeHere(name)
    if (here !== undefined) return Effect.succeed(here)
    const route = this.route(name, def)
    if (route instanceof KindNotRegistered) return Effect.fail(route)
    if (route !== "local") return Effect.succeed(route)
    return Effect.async<Pid.Pid, unknown>((resume) =>
      this.withCell(
        name,
        (cell) => resume(Effect.succeed(cell.pid as Pid.Pid)),
        (error) => resume(Effect.fail(error))
      )
    )
  }

  /** The PID of the grain's activation on this node, unless an activation is still in flight here. */
  private activeHere(name: string): Pid.Pid | undefined {
    if (this.waiting.has(name)) return undefined
    return this.impl.lookup(name)?.pid as Pid.Pid | undefined
  }

  /** Forgets what was learned under an older view. */
  private fresh(): void {
    const version = this.directory.port.version
    if (this.routesVersion === version) return
    this.routes = new Map()
    this.moved = new Map()
    this.routesVersion = version
  }

  private movedTo(name: string): GrainMoved | undefined {
    this.fresh()
    return this.moved.get(name)
  }

  private remember(name: string, moved: GrainMoved): void {
    this.fresh()
    this.moved.set(name, moved)
  }

  /** Where a grain's messages go: a remembered route, else its owner by rendezvous over the view. */
  private route(name: string, def: AnyDefinition): Route | KindNotRegistered {
    const view = this.directory.port
    this.fresh()
    const known = this.routes.get(name)
    if (known !== undefined) return known
    const candidates = view.members().filter((member) => member.status === "up" && member.kinds.includes(def.kind))
    const owner = this.placement.pick(name, candidates.map(incarnationKey))
    const member = candidates.find((candidate) => incarnationKey(candidate) === owner)
    if (member === undefined) return new KindNotRegistered({ kind: def.kind, node: "no live node of the cluster" })
    let route: Route | undefined
    if (incarnationKey(member) === incarnationKey(view.self)) route = "local"
    else {
      const node = parseNodeAddress(member.address)
      const address = node === undefined
        ? undefined
        : Address.make({ system: node.system, host: node.host, port: node.port, path: [name] })
      route = address === undefined ? undefined : this.pidAt(address, def)
    }
    if (route === undefined) return new KindNotRegistered({ kind: def.kind, node: `${member.nodeId} (no remoting address)` })
    this.routes.set(name, route)
    return route
  }

  private redirect(name: string, moved: GrainMoved, def: AnyDefinition): void {
    const address = Address.parse(moved.address)
    if (address === undefined) return
    const local = address.host === this.impl.host && address.port === this.impl.port
    const route = local ? "local" : this.pidAt(address, def)
    if (route !== undefined) this.routes.set(name, route)
  }

  private forget(name: string): void {
    this.routes.delete(name)
    this.moved.delete(name)
  }
}
