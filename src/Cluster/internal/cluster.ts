/**
 * The machinery behind the `Cluster` service of one node: spawning under a
 * claim, resolving names to PIDs, sending by name with correction of stale
 * answers, stopping by name.
 *
 * @internal
 */
import { Duration, Effect, Effectable, Either, Option, Schedule } from "effect"
import {
  ActorNotFound,
  InvalidArgument,
  KindNotRegistered,
  type NameTaken,
  type PlacementFailed,
  type RemoteError,
  type SpawnError
} from "../../Errors.js"
import type { Tagged } from "../../Message.js"
import type * as Pid from "../../Pid.js"
import { encodeIfSure, queueEncoded, RemotePid } from "../../Remoting/internal/connection.js"
import { presentAsSyncStep } from "../../internal/effectInternals.js"
import type { AnyDefinition, SystemImpl } from "../../internal/system.js"
import type { StoreUnavailable } from "../ClusterError.js"
import type { Member } from "../ClusterStore.js"
import { type Directory, incarnationKey, TravelRequest } from "./directory.js"
import * as Placements from "./placement.js"
import type { Grains } from "./grains.js"
import type { Placement } from "./rendezvous.js"
import * as Travel from "./travel.js"

/** Settings of one node's cluster. */
export interface Settings {
  /** How long a send by name waits for a moving name to come back. */
  readonly relocationWait: Duration.Duration
  /** The role a node must have to run a kind, by kind (a spawn's own `role` wins). */
  readonly kindRoles?: ReadonlyMap<string, string>
  /** The actors a member runs now, for least-load placement. */
  readonly load?: (member: Member) => Effect.Effect<number, unknown>
}

/** A name that the directory holds but that no live actor answers for right now. */
class Moving {
  readonly _tag = "Moving"
}
const moving = new Moving()

/** A name the directory does not hold: nothing to wait for. */
class Absent {
  readonly _tag = "Absent"
}
const absent = new Absent()

const tagOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "_tag" in error ? error._tag : undefined

/**
 * Errors of a send that say the PID it used is no longer the name's: the
 * actor is gone from there (`ActorNotFound`, `ActorStopped`), the name is
 * moving, or its node cannot be reached (`NodeUnreachable`: it died, and the
 * store may still list it until its lease runs out). Re-resolve the name
 * and try again.
 */
const isStale = (error: unknown): boolean => {
  const tag = tagOf(error)
  return tag === "ActorNotFound" || tag === "ActorStopped" || tag === "Moving" || tag === "NodeUnreachable"
}

export class ClusterNode {
  private readonly retry: Schedule.Schedule<unknown, unknown>
  /** This node's round-robin cursor. */
  private readonly cursor = new Placements.Cursor()

  constructor(
    readonly impl: SystemImpl,
    readonly directory: Directory,
    readonly placement: Placement,
    readonly settings: Settings,
    /** The last membership view's members. */
    readonly members: () => ReadonlyArray<Member>,
    /** This node's grains (host and router). */
    readonly grains: Grains,
    /** Spawns a kind on another node (through its control actor), with these traveling options. */
    private readonly spawnRemote: (
      member: Member,
      kind: string,
      name: string,
      options: Travel.Travel
    ) => Effect.Effect<Pid.Pid, RemoteError | KindNotRegistered | SpawnError | InvalidArgument>
  ) {
    const millis = Duration.toMillis(settings.relocationWait)
    // While a name moves, look again at least every 100 ms (lookups are batched): a send
    // waiting for an adoption answers within ~100 ms of it, not up to 200.
    this.retry = Schedule.exponential("10 millis", 1.5).pipe(
      Schedule.union(Schedule.spaced("100 millis")),
      Schedule.upTo(Duration.millis(millis))
    )
  }

  spawn(
    def: AnyDefinition,
    name: string,
    options: Travel.Travel | undefined
  ): Effect.Effect<Pid.Pid, SpawnError | InvalidArgument> {
    return Effect.suspend((): Effect.Effect<Pid.Pid, SpawnError | InvalidArgument> => {
      const travel = Travel.validate(options ?? {})
      if (Either.isLeft(travel)) return Effect.fail(new InvalidArgument({ reason: travel.left.message }))
      return this.impl.spawn(
        def,
        name,
        Travel.toSpawnOptions(travel.right),
        undefined,
        new TravelRequest(travel.right)
      ) as Effect.Effect<Pid.Pid, SpawnError>
    })
  }

  /**
   * Spawns a kind by name: here when this node registered it (and has the
   * role asked for), else on the node rendezvous hashing picks among the
   * live nodes that have both, which claims it with the same traveling
   * options.
   */
  spawnKind(
    kind: string,
    name: string,
    options: Travel.Travel | undefined
  ): Effect.Effect<Pid.Pid, SpawnError | InvalidArgument | KindNotRegistered | RemoteError> {
    return Effect.suspend(() => {
      const travel = Travel.validate(options ?? {})
      if (Either.isLeft(travel)) return Effect.fail(new InvalidArgument({ reason: travel.left.message }))
      const role = travel.right.role
      const fits = (member: Member | undefined) =>
        member !== undefined && member.kinds.includes(kind) && (role === undefined || member.roles.includes(role))
      const def = this.directory.kinds.get(kind)
      const port = this.directory.port
      if (def !== undefined && (role === undefined || fits(port.member(port.self)))) {
        return this.spawn(def, name, travel.right)
      }
      const candidates = this.members().filter((member) => member.status === "up" && fits(member))
      const chosen = this.placement.pick(name, candidates.map((member) => `${member.nodeId}#${member.epoch}`))
      const member = candidates.find((m) => `${m.nodeId}#${m.epoch}` === chosen)
      return member === undefined
        ? Effect.fail(
          new KindNotRegistered({
            kind,
            node: role === undefined ? "no live node of the cluster" : `no live node of the cluster with role ${role}`
          })
        )
        : this.spawnRemote(member, kind, name, travel.right)
    })
  }

  /**
   * Spawns a kind on the member a placement picks among the live members
   * that run it (and have its role); without a placement, as `spawnKind`.
   */
  spawnOn(
    kind: string,
    name: string,
    options: (Travel.Travel & { readonly placement?: Placements.Strategy | undefined }) | undefined
  ): Effect.Effect<Pid.Pid, SpawnError | InvalidArgument | KindNotRegistered | RemoteError | PlacementFailed> {
    const { placement: strategy, ...rest } = options ?? {}
    const role = rest.role ?? this.settings.kindRoles?.get(kind)
    const travel: Travel.Travel = role === undefined ? rest : { ...rest, role }
    if (strategy === undefined) return this.spawnKind(kind, name, travel)
    return Effect.suspend(() => {
      const validated = Travel.validate(travel)
      if (Either.isLeft(validated)) return Effect.fail(new InvalidArgument({ reason: validated.left.message }))
      const self = this.directory.port.self
      const context: Placements.Context = {
        members: this.members(),
        self: incarnationKey(self),
        load: (member) =>
          incarnationKey(member) === incarnationKey(self)
            ? Effect.sync(() => this.impl.live)
            : this.settings.load?.(member) ?? Effect.fail("no load")
      }
      return Effect.flatMap(
        Placements.choose(strategy, kind, name, role, context, this.cursor),
        (member): Effect.Effect<Pid.Pid, SpawnError | InvalidArgument | KindNotRegistered | RemoteError> => {
          const def = this.directory.kinds.get(kind)
          return incarnationKey(member) === incarnationKey(self) && def !== undefined
            ? this.spawn(def, name, validated.right)
            : this.spawnRemote(member, kind, name, validated.right)
        }
      )
    })
  }

  /** Spawns, or answers the live actor that already holds the name (here or elsewhere). */
  getOrSpawn<E>(
    name: string,
    spawn: Effect.Effect<Pid.Pid, E | NameTaken>
  ): Effect.Effect<Pid.Pid, E | StoreUnavailable> {
    const existing = Effect.flatMap(this.directory.resolve(name), (pid) =>
      Option.isSome(pid) ? Effect.succeed(pid.value) : Effect.fail(moving))
    // A spawn racing ours (on this node or another) may have claimed the name and not be running yet.
    const taken = existing.pipe(Effect.retry({ while: (e) => e === moving, schedule: this.retry }))
    return Effect.catchIf(
      spawn,
      (error): error is NameTaken => typeof error === "object" && error !== null && "_tag" in error && error._tag === "NameTaken",
      () => Effect.catchIf(taken, (e): e is Moving => e === moving, () => Effect.fail(new ActorNotFound({ actorName: name })))
    ) as Effect.Effect<Pid.Pid, E | StoreUnavailable>
  }

  /**
   * Runs `f` on the PID of a name, re-resolving and trying again while the
   * name is moving or the answer was stale and nothing was processed
   * (`ActorNotFound`, `ActorStopped`), for up to `relocationWait`.
   */
  withPid<A, E>(
    name: string,
    f: (pid: Pid.Pid) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | ActorNotFound | StoreUnavailable> {
    // Resolved each time the effect runs (a send built once and run again follows the name).
    return Effect.suspend(() => this.onPid(name, this.directory.cached(name), f))
  }

  /** `f` on the PID the cache gave for a name (re-resolved when it proved stale), or on a freshly resolved one. */
  private onPid<A, E>(
    name: string,
    pid: Pid.Pid | undefined,
    f: (pid: Pid.Pid) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | ActorNotFound | StoreUnavailable> {
    if (pid === undefined) return this.slow(name, f)
    // One error handler around the send, nothing else.
    return Effect.catchAll(f(pid), (error) => {
      this.suspectIfUnreachable(pid, error)
      return isStale(error) ? this.slow(name, f) : Effect.fail(error)
    })
  }

  /**
   * A tell by name, resolved when it runs: the hot path of a send by name
   * (see `TellByName`). A remote tell fails with nothing stale (an
   * undeliverable one is a deadletter, and remoting makes its node suspect
   * for the next resolution), so a cached remote PID is told directly.
   */
  tellNow(name: string, message: Tagged): Effect.Effect<void, unknown> {
    const pid = this.directory.cached(name)
    if (pid instanceof RemotePid) return pid.tellNow(message)
    return this.onPid(name, pid, (pid) => pid.tell(message))
  }

  /** An unreachable node becomes suspect, so the next resolution does not pick it again. */
  private suspectIfUnreachable(pid: Pid.Pid, error: unknown): void {
    if (tagOf(error) === "NodeUnreachable" && pid.address.host !== "") {
      this.directory.unreachable(`${pid.address.host}:${pid.address.port}`)
    }
  }

  /** Runs `f` on a PID, marking its node suspect when it is unreachable. */
  private using<A, E>(pid: Pid.Pid, f: (pid: Pid.Pid) => Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.tapError(f(pid), (error) => Effect.sync(() => this.suspectIfUnreachable(pid, error)))
  }

  private slow<A, E>(
    name: string,
    f: (pid: Pid.Pid) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | ActorNotFound | StoreUnavailable> {
    const attempt = Effect.suspend(() => {
      this.directory.forget(name)
      return Effect.flatMap(this.directory.resolveOrMoving(name), (found): Effect.Effect<
        A,
        E | Absent | Moving | StoreUnavailable
      > => {
        if (found === "absent") return Effect.fail(absent)
        if (found === "moving") return Effect.fail(moving)
        return this.using(found, f)
      })
    })
    return attempt.pipe(
      Effect.retry({ while: isStale, schedule: this.retry }),
      Effect.catchIf((e): e is Moving | Absent => e === moving || e === absent, () =>
        Effect.fail(new ActorNotFound({ actorName: name })))
    ) as Effect.Effect<A, E | ActorNotFound | StoreUnavailable>
  }

  lookup(name: string): Effect.Effect<Option.Option<Pid.Pid>, StoreUnavailable> {
    return Effect.suspend(() => {
      const pid = this.directory.cached(name)
      return pid === undefined ? this.directory.resolve(name) : Effect.succeed(Option.some(pid))
    })
  }

  /** The PID of a name, waiting while it is moving (see `withPid`); `ActorNotFound` when nobody holds it. */
  actorOf(name: string): Effect.Effect<Pid.Pid, ActorNotFound | StoreUnavailable> {
    return Effect.suspend(() => {
      const pid = this.directory.cached(name)
      return pid === undefined ? this.slow(name, (found) => Effect.succeed(found)) : Effect.succeed(pid)
    })
  }

  stop(name: string): Effect.Effect<void, ActorNotFound | StoreUnavailable> {
    return Effect.flatMap(this.directory.resolve(name), (pid) =>
      Option.isNone(pid) ? Effect.fail(new ActorNotFound({ actorName: name })) : pid.value.stop)
  }

  tell(name: string, message: Tagged): Effect.Effect<void, unknown> {
    return new TellByName(this, name, message)
  }

  ask(name: string, message: Tagged, options: Pid.AskOptions | undefined): Effect.Effect<unknown, unknown> {
    return this.withPid(name, (pid) => (pid as Pid.Pid<Tagged & never>).ask(message as never, options))
  }
}

/**
 * A tell by name as one small object: it resolves the name each time it
 * runs (a send built once and run again follows the name) and, with a
 * cached remote PID, costs what a tell to that PID costs (one object per
 * send, two run-loop steps: no suspend, closure or error handler on top).
 */
class TellByName extends Effectable.Class<void, unknown> {
  pid: RemotePid | undefined = undefined
  encoded: Record<string, unknown> | undefined = undefined
  constructor(readonly node: ClusterNode, readonly name: string, readonly message: Tagged) {
    super()
  }

  commit(): Effect.Effect<void, unknown> {
    return this.node.tellNow(this.name, this.message)
  }
}

// To a cached remote PID whose tell can neither wait nor fail, a tell by name is one sync step, as a
// tell to that PID is (`RemoteTell`); otherwise `commit` resolves and tells.
presentAsSyncStep(
  TellByName.prototype,
  (tell) => {
    const pid = tell.node.directory.cached(tell.name)
    if (!(pid instanceof RemotePid)) return false
    tell.pid = pid
    return (tell.encoded = encodeIfSure(pid, tell.message)) !== undefined
  },
  (tell) => queueEncoded(tell.pid!, tell.encoded!)
)
