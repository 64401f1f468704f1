/**
 * The events an actor system publishes: lifecycle, supervision and
 * deadletters. Subscribe with `ActorSystem.subscribe` (a scoped queue, ready
 * before the call returns) or `ActorSystem.events` (a `Stream`).
 *
 * Publishing costs nothing while nobody listens.
 *
 * @since 0.1.0
 */
import { Data, Effect, type Queue } from "effect"
import type { Address } from "./Address.js"
import { missedBy } from "./internal/eventBus.js"

/**
 * An actor finished `preStart` and accepts messages.
 *
 * @since 0.1.0
 * @category events
 */
export class ActorStarted extends Data.TaggedClass("ActorStarted")<{ readonly address: Address }> {}

/**
 * Why an actor stopped.
 *
 * - `Stopped`: asked to stop (graceful), `Killed`: killed, `PoisonPill`: took a pill,
 * - `Failed`: its supervisor chose Stop after a failure (`error` says what),
 * - `RestartsExhausted`: the restart schedule ran out,
 * - `ParentStopped`, `SystemShutdown`,
 * - `Abandoned`: it did not finish stopping within the system's
 *   `shutdownTimeout` (a handler or `postStop` that cannot be interrupted
 *   still runs): it was unregistered and takes no more messages, and nothing
 *   waits for it any longer; the Effect still running is left to finish.
 *
 * @since 0.1.0
 * @category events
 */
export type StopReason =
  | "Stopped"
  | "Killed"
  | "PoisonPill"
  | "Failed"
  | "RestartsExhausted"
  | "ParentStopped"
  | "SystemShutdown"
  | "Abandoned"

/**
 * An actor stopped (its `postStop` has run). `error` is set when it stopped
 * because of a failure.
 *
 * @since 0.1.0
 * @category events
 */
export class ActorStopped extends Data.TaggedClass("ActorStopped")<{
  readonly address: Address
  readonly reason: StopReason
  readonly error?: string
}> {}

/**
 * An idle actor was stopped and removed by passivation.
 *
 * @since 0.1.0
 * @category events
 */
export class ActorPassivated extends Data.TaggedClass("ActorPassivated")<{ readonly address: Address }> {}

/**
 * A child actor was spawned.
 *
 * @since 0.1.0
 * @category events
 */
export class ActorChildCreated extends Data.TaggedClass("ActorChildCreated")<{
  readonly parent: Address
  readonly child: Address
}> {}

/**
 * An actor was restarted (by its supervisor or by `restart`).
 *
 * @since 0.1.0
 * @category events
 */
export class ActorRestarted extends Data.TaggedClass("ActorRestarted")<{
  readonly address: Address
  readonly restarts: number
  readonly error?: string
}> {}

/**
 * An actor failed and waits for a decision (escalated to its parent, or
 * waiting for the restart delay).
 *
 * @since 0.1.0
 * @category events
 */
export class ActorSuspended extends Data.TaggedClass("ActorSuspended")<{
  readonly address: Address
  readonly error: string
}> {}

/**
 * A message that could not be delivered or was not handled.
 *
 * @since 0.1.0
 * @category events
 */
export class Deadletter extends Data.TaggedClass("Deadletter")<{
  readonly recipient: Address
  readonly sender: Address | undefined
  readonly message: unknown
  readonly reason: string
}> {}

/**
 * A connection to another node broke while tells sent on it had not been
 * confirmed (processed) there: `counts` says how many per target. They may
 * or may not have been processed; at most one credit window
 * (`Remoting.Options.maxPending`) per connection.
 *
 * @since 0.1.0
 * @category events
 */
export class RemoteTellsUnconfirmed extends Data.TaggedClass("RemoteTellsUnconfirmed")<{
  readonly node: string
  readonly counts: ReadonlyArray<{ readonly target: string; readonly count: number }>
}> {}

/**
 * Every event of the stream.
 *
 * @since 0.1.0
 * @category events
 */
export type Event =
  | ActorStarted
  | ActorStopped
  | ActorPassivated
  | ActorChildCreated
  | ActorRestarted
  | ActorSuspended
  | Deadletter
  | ScheduleCancelled
  | NodeJoined
  | NodeLeft
  | ClusterSuspended
  | ClusterResumed
  | RemoteTellsUnconfirmed

/**
 * Why a schedule cancelled itself: its target stopped, or does not speak the
 * scheduled message.
 *
 * @since 0.1.0
 * @category events
 */
export type ScheduleCancelReason = "TargetStopped" | "UnknownMessage"

/**
 * A schedule of the `Scheduler` cancelled itself (cancelling one by hand
 * publishes nothing).
 *
 * @since 0.1.0
 * @category events
 */
export class ScheduleCancelled extends Data.TaggedClass("ScheduleCancelled")<{
  readonly reference: string
  readonly target: Address
  readonly reason: ScheduleCancelReason
}> {}

/**
 * A node incarnation joined the cluster (cluster mode only). Every node
 * publishes membership events in the same order: the order of the store's
 * membership version (`version`).
 *
 * @since 0.1.0
 * @category events
 */
export class NodeJoined extends Data.TaggedClass("NodeJoined")<{
  readonly nodeId: string
  readonly epoch: number
  /** Where remoting reaches it (`host:port`), or "". */
  readonly address: string
  readonly version: number
}> {}

/**
 * A node incarnation left the cluster: gracefully (`left`) or declared dead
 * (`dead`). It never comes back; a restarted node joins under a new epoch.
 *
 * @since 0.1.0
 * @category events
 */
export class NodeLeft extends Data.TaggedClass("NodeLeft")<{
  readonly nodeId: string
  readonly epoch: number
  readonly reason: "left" | "dead"
  readonly version: number
}> {}

/**
 * This node could not renew its lease in time and suspended its cluster
 * actors, before anyone else could declare it dead.
 *
 * @since 0.1.0
 * @category events
 */
export class ClusterSuspended extends Data.TaggedClass("ClusterSuspended")<{
  readonly nodeId: string
  readonly epoch: number
}> {}

/**
 * This node is active again: its lease was renewed (same epoch), or it had
 * been declared dead and joined again (`rejoined`, a new epoch).
 *
 * @since 0.1.0
 * @category events
 */
export class ClusterResumed extends Data.TaggedClass("ClusterResumed")<{
  readonly nodeId: string
  readonly epoch: number
  readonly rejoined: boolean
}> {}

/**
 * How each subscriber's buffer behaves (`ActorSystem` option `eventBuffer`).
 * A subscriber that falls behind never slows the system down nor makes it
 * grow: its buffer holds `capacity` events (4,096 by default); past that a
 * `"sliding"` buffer (the default) drops the oldest event, so the subscriber
 * sees the latest, and a `"dropping"` one drops the newest. What a
 * subscriber missed is counted (`missed`, and the system metric
 * `effect_actors_events_missed`).
 *
 * @example
 * ```ts
 * import { ActorSystem } from "effect-actors"
 *
 * const system = ActorSystem.make({ name: "app", eventBuffer: { capacity: 100_000, strategy: "dropping" } })
 * ```
 * @since 0.1.0
 * @category models
 */
export interface BufferOptions {
  readonly capacity?: number
  readonly strategy?: "sliding" | "dropping"
}

/**
 * How many events the subscription `queue` (from `system.subscribe`) has
 * missed because its buffer was full; 0 for any other queue.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ActorSystem, EventStream } from "effect-actors"
 *
 * const watch = Effect.gen(function*() {
 *   const events = yield* ActorSystem.subscribe
 *   // ... later, after falling behind:
 *   const missed = yield* EventStream.missed(events)
 *   if (missed > 0) yield* Effect.logWarning(`missed ${missed} events`)
 * })
 * ```
 * @since 0.1.0
 * @category utils
 */
export const missed = (queue: Queue.Dequeue<Event>): Effect.Effect<number> =>
  Effect.sync(() => missedBy(queue) ?? 0)

