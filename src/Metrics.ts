/**
 * Actor and system metrics through `effect/Metric`.
 *
 * Counting is free on the hot path: each actor keeps plain counters in its
 * cell, and the system keeps totals. They reach Effect's metric registry
 * (and from there `@effect/opentelemetry`) when exported: on every
 * `system.metrics` / `pid.metrics` call, and every `metrics.interval` when
 * the system is built with one. Per-actor metrics carry the actor's address
 * in the `actor` tag and are exported only with `metrics.perActor` (a
 * million actors make a million series). Every metric carries the `system`
 * tag.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { ActorSystem, Metrics } from "effect-actors"
 *
 * const program = Effect.gen(function*() {
 *   const system = yield* ActorSystem.ActorSystem
 *   const snapshot = yield* system.metrics
 *   console.log(snapshot.actors, snapshot.deadletters, snapshot.processed)
 *   // The same numbers, from the registry:
 *   console.log(yield* Metric.value(Metrics.deadletters))
 * })
 * ```
 * @since 0.1.0
 */
import { Metric, MetricBoundaries, Option } from "effect"

/**
 * A snapshot of one actor's counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface ActorMetrics {
  /** The actor's address. */
  readonly address: string
  /** Messages processed since the actor started (restarts do not reset it). */
  readonly processed: number
  /** Messages waiting in the mailbox. */
  readonly mailboxSize: number
  /** Restarts so far. */
  readonly restarts: number
  /** Live children. */
  readonly children: number
  /** Messages set aside with `stash`. */
  readonly stashSize: number
  /**
   * How long the last message took, in milliseconds, when the system records
   * processing time (`metrics: { processingTime: true }`); reading the clock
   * twice per message is not free, so it is off by default.
   */
  readonly lastProcessingMillis: Option.Option<number>
}

/**
 * The snapshot of an actor with nothing counted: what a PID reports when no
 * instance answers (a remote actor that stopped or whose node is
 * unreachable, a singleton between two homes). Use it where a `metrics`
 * read must not fail.
 *
 * @example
 * ```ts
 * import { Metrics } from "effect-actors"
 * const none = Metrics.emptyActorMetrics("effect-actors://shop@10.0.0.2:4000/counter")
 * // { address: "effect-actors://shop@...", processed: 0, mailboxSize: 0, ..., lastProcessingMillis: Option.none() }
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const emptyActorMetrics = (address: string): ActorMetrics => ({
  address,
  processed: 0,
  mailboxSize: 0,
  restarts: 0,
  children: 0,
  stashSize: 0,
  lastProcessingMillis: Option.none()
})

/**
 * A snapshot of a system's counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemMetrics {
  /** Live actors. */
  readonly actors: number
  /** Deadletters published since the start. */
  readonly deadletters: number
  /** Messages processed since the start, by every actor. */
  readonly processed: number
  /** Events that subscribers missed because their buffers were full (see `EventStream.BufferOptions`). */
  readonly eventsMissed: number
}

/**
 * Metric settings of an actor system.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Export to the registry this often (default: only when a snapshot is taken). */
  readonly interval?: import("effect").Duration.DurationInput
  /** Also export one series per actor, tagged with its address (default false). */
  readonly perActor?: boolean
  /** Record each message's processing time (default false). */
  readonly processingTime?: boolean
}

/**
 * Live actors of a system (gauge).
 *
 * @since 0.1.0
 * @category metrics
 */
export const actors = Metric.gauge("effect_actors_actors", { description: "live actors" })

/**
 * Deadletters published (counter).
 *
 * @since 0.1.0
 * @category metrics
 */
export const deadletters = Metric.counter("effect_actors_deadletters", { description: "deadletters published" })

/**
 * Events that subscribers of a system missed because their buffers were
 * full (counter; see `EventStream.BufferOptions`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsMissed = Metric.counter("effect_actors_events_missed", {
  description: "events dropped from full subscriber buffers"
})

/**
 * Messages processed by every actor of a system (counter).
 *
 * @since 0.1.0
 * @category metrics
 */
export const messagesProcessed = Metric.counter("effect_actors_messages_processed", {
  description: "messages processed"
})

/**
 * Messages processed by one actor (gauge, tagged `actor`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const actorProcessed = Metric.gauge("effect_actors_actor_processed", {
  description: "messages processed by the actor"
})

/**
 * Mailbox size of one actor (gauge, tagged `actor`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const mailboxSize = Metric.gauge("effect_actors_mailbox_size", { description: "messages waiting" })

/**
 * Restarts of one actor (gauge, tagged `actor`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const restarts = Metric.gauge("effect_actors_restarts", { description: "restarts of the actor" })

/**
 * Children of one actor (gauge, tagged `actor`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const children = Metric.gauge("effect_actors_children", { description: "live children" })

/**
 * Stash size of one actor (gauge, tagged `actor`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const stashSize = Metric.gauge("effect_actors_stash_size", { description: "stashed messages" })

/**
 * Processing time of one actor's last message, in milliseconds (gauge,
 * tagged `actor`; only with `processingTime`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const lastProcessingMillis = Metric.gauge("effect_actors_last_processing_ms", {
  description: "processing time of the last message"
})

/**
 * How long each message took to process, in milliseconds (histogram, tagged
 * `system`; recorded per message only with `metrics: { processingTime: true }`,
 * which costs two clock reads and one bucket update per message).
 *
 * @example
 * ```ts
 * ActorSystem.layer({ name: "shop", metrics: { processingTime: true } })
 * // exported as effect_actors_processing_time_ms_bucket / _sum / _count
 * ```
 * @since 0.1.0
 * @category metrics
 */
export const processingTime = Metric.histogram(
  "effect_actors_processing_time_ms",
  MetricBoundaries.exponential({ start: 0.01, factor: 2.5, count: 16 }),
  "message processing time in milliseconds"
)

/**
 * Restarts of every actor of a system (counter).
 *
 * @since 0.1.0
 * @category metrics
 */
export const actorRestarts = Metric.counter("effect_actors_restarts_total", {
  description: "actor restarts"
})

/**
 * Messages waiting in the mailboxes of a system's top-level actors
 * (gauge; one pass over them per export).
 *
 * @since 0.1.0
 * @category metrics
 */
export const mailboxDepth = Metric.gauge("effect_actors_mailbox_depth", {
  description: "messages waiting in top-level mailboxes"
})

/**
 * Members of the cluster as this node sees them, tagged `status` (`up`,
 * `leaving`) and `system` (gauge; updated on every membership change).
 *
 * @since 0.1.0
 * @category metrics
 */
export const clusterMembers = Metric.gauge("effect_actors_cluster_members", {
  description: "live members of the cluster, by status"
})

/**
 * Whether this node may run cluster actors now: 1 while `up` or `leaving`,
 * 0 while suspended or after it left (gauge, tagged `system`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const clusterActive = Metric.gauge("effect_actors_cluster_active", {
  description: "1 while this node runs cluster actors"
})
