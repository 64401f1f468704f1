/**
 * A PID that stands for a cluster name rather than one actor: every call
 * resolves the name (local registry, then the directory's cache, then the
 * store) and goes to whichever actor holds it now, re-resolving while it
 * moves. What `singleton` hands out: the instance may move between nodes,
 * the reference stays valid.
 *
 * A name that no live actor answered for within the cluster's relocation
 * wait (or a store that did not answer) fails the call with
 * `NodeUnreachable`: a transient failure (a schedule aimed at it loses that
 * beat and goes on), never `ActorStopped`, which would mean gone for good.
 *
 * @internal
 */
import { Effect, Equal, Hash } from "effect"
import { pipeArguments } from "effect/Pipeable"
import * as Address from "../../Address.js"
import { ActorNotFound, BatchAskFailed, NodeUnreachable } from "../../Errors.js"
import type { Tagged } from "../../Message.js"
import { type ActorMetrics, emptyActorMetrics } from "../../Metrics.js"
import * as Pid from "../../Pid.js"
import type { StoreUnavailable } from "../ClusterError.js"

/** How a reference reaches whichever actor holds a name now (see `Cluster.sendAsync`, `sendSync`, `actorOf`). */
export interface Resolver {
  /** Tells the holder, re-resolving a stale answer. */
  readonly tell: (name: string, message: Tagged) => Effect.Effect<void, unknown>
  /** Asks the holder, re-resolving a stale answer. */
  readonly ask: (name: string, message: Tagged, options: Pid.AskOptions | undefined) => Effect.Effect<unknown, unknown>
  /** The PID of the holder now (waits while the name moves). */
  readonly pid: (name: string) => Effect.Effect<Pid.Pid, ActorNotFound | StoreUnavailable>
}

const unreachable = (name: string) => (error: ActorNotFound | StoreUnavailable) =>
  new NodeUnreachable({
    node: "cluster",
    reason: error._tag === "ActorNotFound"
      ? `no live actor holds the cluster name ${JSON.stringify(name)} right now`
      : error.message
  })

const isResolution = (error: unknown): error is ActorNotFound | StoreUnavailable =>
  error instanceof ActorNotFound ||
  (typeof error === "object" && error !== null && "_tag" in error && error._tag === "StoreUnavailable")

/** The re-resolving PID of a cluster name. */
export class NameRef implements Pid.Pid<Tagged> {
  declare readonly [Pid.TypeId]: Pid.TypeId
  readonly address: Address.Address

  constructor(readonly name: string, system: string, private readonly resolver: Resolver) {
    this.address = Address.make({ system, host: "", port: 0, path: [name] })
  }

  /** A resolution failure becomes `NodeUnreachable`; the call's own errors pass through. */
  private unresolved<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | NodeUnreachable> {
    return Effect.catchIf(
      effect,
      isResolution,
      (error) => Effect.fail(unreachable(this.name)(error))
    ) as Effect.Effect<A, E | NodeUnreachable>
  }

  private via<A, E>(f: (pid: Pid.Pid) => Effect.Effect<A, E>): Effect.Effect<A, E | NodeUnreachable> {
    return this.unresolved(Effect.flatMap(this.resolver.pid(this.name), f)) as Effect.Effect<A, E | NodeUnreachable>
  }

  tell(message: Tagged): Effect.Effect<never, never> {
    return this.unresolved(this.resolver.tell(this.name, message)) as never
  }

  ask(message: never, options?: Pid.AskOptions): Effect.Effect<never, never> {
    return this.unresolved(this.resolver.ask(this.name, message, options)) as never
  }

  batchTell(messages: Iterable<Tagged>) {
    const all = [...messages]
    return this.via((pid) => pid.batchTell(all))
  }

  batchAsk(messages: Iterable<never>, options?: Pid.AskOptions): Effect.Effect<never, never> {
    const all = [...messages]
    return Effect.mapError(
      this.via((pid) => pid.batchAsk(all, options)),
      (error) => error instanceof NodeUnreachable ? new BatchAskFailed({ index: 0, error }) : error
    ) as never
  }

  /** Stops the current instance; a singleton's holder starts it again (close its scope on every node to end it). */
  get stop(): Effect.Effect<void> {
    return Effect.ignore(this.via((pid) => pid.stop))
  }

  get kill(): Effect.Effect<void> {
    return Effect.ignore(this.via((pid) => pid.kill))
  }

  get restart() {
    return this.via((pid) => pid.restart)
  }

  get isAlive(): Effect.Effect<boolean> {
    return Effect.orElseSucceed(this.via((pid) => pid.isAlive), () => false)
  }

  /** The current instance's counters; all zero while no instance answers. */
  get metrics(): Effect.Effect<ActorMetrics> {
    return Effect.orElseSucceed(this.via((pid) => pid.metrics), () => emptyActorMetrics(this.address.toString()))
  }

  /** Makes the current instance watch `target` (a moved instance starts without its watches). */
  watch(target: Pid.Pid<never>): Effect.Effect<void> {
    return Effect.ignore(this.via((pid) => pid.watch(target)))
  }

  unwatch(target: Pid.Pid<never>): Effect.Effect<void> {
    return Effect.ignore(this.via((pid) => pid.unwatch(target)))
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof NameRef && that.name === this.name
  }

  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(`NameRef/${this.name}`))
  }

  pipe() {
    return pipeArguments(this, arguments)
  }

  toString(): string {
    return `Pid(cluster name ${this.name})`
  }

  toJSON(): unknown {
    return { _id: "Pid", cluster: this.name }
  }
}

Object.defineProperty(NameRef.prototype, Pid.TypeId, { value: Pid.TypeId })
